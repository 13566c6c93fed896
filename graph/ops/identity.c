/* identity.c — op descriptor of identity: y is x (dropout, contiguous, clone); the graph passes remove it. */
#include <string.h>
#include "../op_rules.h"

const op_desc op_desc_identity = {
    .code = OP_IDENTITY,
    .shape = shape_same_as_input,
    .in_place = OP_IN_PLACE_ALWAYS,
};
