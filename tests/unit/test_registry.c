/* test_registry.c — the op registry: every op code has a complete descriptor that agrees with the op table. */
#include <criterion/criterion.h>
#include "../../graph/op_desc.h"

Test(registry, every_op_has_a_descriptor) {
    int ops = 0;
    for (int op = 0; op < OP_COUNT + 2; op++) {
        const op_info *info = op_get_info(op);
        const op_desc *d = op_describe(op);
        cr_assert_eq(info == NULL, d == NULL, "op %d: op table and registry disagree", op);
        if (!d) continue;
        ops++;
        cr_assert_eq((int)d->code, op, "%s: descriptor code %d", info->name, (int)d->code);
        cr_assert_not_null(d->shape, "%s has no shape rule", info->name);
        cr_assert(!(d->fusions & OP_FUSE_ACT) || d->epilogue_act, "%s fuses activations but has no epilogue_act",
                  info->name);
        for (int i = 0; i < info->min_inputs && i < 64; i++)
            if (d->optional_inputs & OP_INPUT(i))
                cr_assert(op == OP_LSTM || op == OP_GRU, "%s: input %d is both required and optional", info->name, i);
    }
    cr_assert_eq(ops, OP_COUNT - 1, "the op codes are 1..%d without gaps", OP_COUNT - 1);
    cr_assert_null(op_describe(0));
    cr_assert_null(op_describe(-1));
}

Test(registry, in_place_and_optional_inputs) {
    cr_assert_eq(op_describe(OP_BINARY)->in_place, OP_IN_PLACE_SAME_SHAPE);
    cr_assert_eq(op_describe(OP_RESHAPE)->in_place, OP_IN_PLACE_ALWAYS);
    cr_assert_eq(op_describe(OP_CONV2D)->in_place, OP_IN_PLACE_NEVER);
    const op_desc *lstm = op_describe(OP_LSTM);
    int optional[] = { 1, 2, 5, 6, 9, 10 }, required[] = { 0, 3, 4, 7, 8 };
    for (size_t i = 0; i < sizeof optional / sizeof *optional; i++)
        cr_assert(lstm->optional_inputs & OP_INPUT(optional[i]), "lstm input %d", optional[i]);
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        cr_assert(!(lstm->optional_inputs & OP_INPUT(required[i])), "lstm input %d", required[i]);
    const op_desc *gru = op_describe(OP_GRU); /* x, h0?, then w_ih, w_hh, b_ih?, b_hh? per layer and direction */
    int gru_optional[] = { 1, 4, 5, 8, 9 }, gru_required[] = { 0, 2, 3, 6, 7 };
    for (size_t i = 0; i < sizeof gru_optional / sizeof *gru_optional; i++)
        cr_assert(gru->optional_inputs & OP_INPUT(gru_optional[i]), "gru input %d", gru_optional[i]);
    for (size_t i = 0; i < sizeof gru_required / sizeof *gru_required; i++)
        cr_assert(!(gru->optional_inputs & OP_INPUT(gru_required[i])), "gru input %d", gru_required[i]);
}
