/* ifg_writer_encoding.c — the writer's storage encodings: a constant stored int8, sparse, with its side tensors. */
#include <stdio.h>
#include <string.h>
#include "ifg_writer_internal.h"

void ifg_writer_encoding(ifg_writer *w, uint32_t tensor, int encoding, const uint32_t aux[3], int32_t quant_axis,
                         float scale, int32_t zero_point, uint32_t block) {
    if (!w || w->failure.status != INFER_OK) return;
    if (tensor >= w->n_tensors || !w->tensors[tensor].is_constant || encoding < 0 || encoding >= IFG_ENC_COUNT) {
        w->failure.status = INFER_ERR_ARGUMENT;
        snprintf(w->failure.message, sizeof w->failure.message,
                 "ifg_writer_encoding: tensor %u is not a constant of this file, or encoding %d is unknown", tensor,
                 encoding);
        return;
    }
    wencoding *e = &w->tensors[tensor].enc;
    e->encoding = encoding;
    for (int k = 0; k < 3; k++) e->aux[k] = aux ? aux[k] : IFG_NONE;
    e->quant_axis = quant_axis;
    e->scale = scale;
    e->zero_point = zero_point;
    e->block = block;
}
