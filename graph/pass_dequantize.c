/* pass_dequantize.c — int8 constants (per tensor, per channel) decoded into dense f32 copies the graph owns: for
 * backends without INT8 kernels (CUDA), so that a quantized file runs everywhere, in FP32. */
#include "graph.h"
#include "../base/error.h"

/* t's logical values into dst; 0 when its storage or side tensors do not fit. */
static int dequantize(const ir_graph *g, const ir_tensor *t, float *dst) {
    const int8_t *q = t->data;
    uint64_t n = ir_logical_bytes(t) / sizeof(float);
    if (!q || t->nbytes != n) return 0;
    if (t->storage.kind == IR_STORAGE_INT8_TENSOR) {
        for (uint64_t i = 0; i < n; i++) dst[i] = t->storage.scale * (float)(q[i] - t->storage.zero_point);
        return 1;
    }
    int axis = t->storage.axis;
    if (axis < 0 || axis >= t->ndim || t->storage.aux[0] == IR_NONE) return 0;
    int64_t channels = t->dims[axis], inner = 1;
    for (int d = axis + 1; d < t->ndim; d++) inner *= t->dims[d];
    const ir_tensor *s = &g->tensors[t->storage.aux[0]];
    const ir_tensor *z = t->storage.aux[1] == IR_NONE ? NULL : &g->tensors[t->storage.aux[1]];
    if (!s->data || s->nbytes != (uint64_t)channels * sizeof(float) ||
        (z && (!z->data || z->nbytes != (uint64_t)channels * sizeof(int32_t))))
        return 0;
    const float *scale = s->data;
    const int32_t *zero = z ? z->data : NULL;
    for (uint64_t i = 0; i < n; i++) {
        int64_t c = (int64_t)(i / (uint64_t)inner) % channels;
        dst[i] = scale[c] * (float)(q[i] - (zero ? zero[c] : 0));
    }
    return 1;
}

infer_status ir_dequantize_int8(ir_graph *g, infer_error *err) { return ir_dequantize_int8_except(g, NULL, NULL, err); }

infer_status ir_dequantize_int8_except(ir_graph *g, ir_keep_encoded_fn keep, void *ctx, infer_error *err) {
    int any = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        ir_tensor *x = &g->tensors[t];
        if (!x->is_constant || x->dtype != INFER_F32 ||
            (x->storage.kind != IR_STORAGE_INT8_TENSOR && x->storage.kind != IR_STORAGE_INT8_CHANNEL))
            continue;
        if (keep && keep(g, t, ctx)) continue;
        INFER_TRY(ir_store_decoded(g, t, dequantize, "dequantizing", err));
        any = 1;
    }
    return any ? ir_eliminate_dead(g, err) : INFER_OK; /* drops the scales and zero points */
}
