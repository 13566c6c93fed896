/* residency.h — keeping only the weights an engine reads resident in memory. */
#ifndef INFER_RESIDENCY_H
#define INFER_RESIDENCY_H

#include "engine.h"

/* Drops the resident pages of the model file's constant tensors that engine e's optimized graph no
 * longer reads (e.g. weights replaced by BatchNorm-folded copies). Safe with other engines on the
 * same model: a dropped page is read from the file again when one of them touches it. */
void residency_release_unused(const infer_engine *e);

#endif
