/* s8_layer.c — the INT8 layers' shared parts: weight blocks from int8 per-channel storage, the path an ISA
 * allows, per-tensor input quantization, and the description infer info prints. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "s8_layer.h"
#include "cpu_features.h"
#include "../../base/error.h"

#define HEAD_BYTES ((sizeof(s8_weights) + 63) & ~(size_t)63)

static size_t round64(size_t x) { return (x + 63) & ~(size_t)63; }

int s8_path_for_isa(int isa) {
    if (isa <= CPU_ISA_SCALAR) return S8_PATH_SCALAR;
    if (isa == CPU_ISA_AVX2) {
        if ((cpu_detect_features() & CPU_FEAT_AVX_VNNI) && s8_path_supported(S8_PATH_AVX_VNNI)) return S8_PATH_AVX_VNNI;
        return s8_path_supported(S8_PATH_AVX2) ? S8_PATH_AVX2 : S8_PATH_SCALAR;
    }
    return s8_path_best();
}

/* w's scales when it is int8 per channel along axis 0 with no non-zero zero point; else NULL. */
static const float *channel_scales(const ir_graph *g, const ir_tensor *w, int64_t *n, int64_t *k) {
    const ir_storage *st = &w->storage;
    if (!w->is_constant || !w->data || w->dtype != INFER_F32 || st->kind != IR_STORAGE_INT8_CHANNEL || st->axis != 0 ||
        w->ndim < 2 || st->aux[0] == IR_NONE)
        return NULL;
    *n = w->dims[0];
    *k = 1;
    for (int d = 1; d < w->ndim; d++) *k *= w->dims[d];
    if (*n < 1 || *k < 0 || *k > GEMM_S8_K_MAX || w->nbytes != (uint64_t)(*n * *k)) return NULL;
    const ir_tensor *s = &g->tensors[st->aux[0]];
    if (!s->data || s->dtype != INFER_F32 || s->nbytes != (uint64_t)*n * sizeof(float)) return NULL;
    if (st->aux[1] != IR_NONE) {
        const ir_tensor *z = &g->tensors[st->aux[1]];
        if (!z->data || z->nbytes != (uint64_t)*n * sizeof(int32_t)) return NULL;
        for (int64_t c = 0; c < *n; c++)
            if (((const int32_t *)z->data)[c] != 0) return NULL;
    }
    return s->data;
}

/* Bytes of one group's GEMM block (64-byte aligned), SIZE_MAX when too large. */
static size_t group_block(int isa, int64_t k, int64_t n_group) {
    size_t b = gemm_s8_packed_size(s8_path_for_isa(isa), k, n_group);
    return b == SIZE_MAX ? b : round64(b);
}

size_t s8_weights_size(const ir_graph *g, const ir_tensor *w, int isa, int depthwise, int64_t groups) {
    int64_t n = 0, k = 0;
    if (!channel_scales(g, w, &n, &k)) return 0;
    if (depthwise) groups = 1;
    if (groups < 1 || n % groups) return 0;
    size_t weights = depthwise ? round64((size_t)(n * k)) + round64(cpu_depthwise_s8_nhwc_pack_size(
                                                                   s8_path_for_isa(isa), n, k))
                               : group_block(isa, k, n / groups);
    if (weights == SIZE_MAX || weights > SIZE_MAX / 2 / (size_t)groups) return 0;
    return HEAD_BYTES + round64((size_t)n * sizeof(float)) + round64(weights * (size_t)groups);
}

void s8_weights_pack(const ir_graph *g, const ir_tensor *w, int isa, int depthwise, int64_t groups, int is_static,
                     void *dst) {
    int64_t n = 0, k = 0;
    const float *scales = channel_scales(g, w, &n, &k);
    if (depthwise) groups = 1;
    s8_weights *h = dst;
    memset(h, 0, sizeof *h);
    h->path = s8_path_for_isa(isa);
    h->depthwise = depthwise;
    h->is_static = is_static;
    h->n = n;
    h->k = k;
    h->groups = groups;
    float *s = (float *)((uint8_t *)dst + HEAD_BYTES);
    memcpy(s, scales, (size_t)n * sizeof(float));
    h->w_scale = s;
    void *wdst = (uint8_t *)s + round64((size_t)n * sizeof(float));
    if (depthwise) {
        memcpy(wdst, w->data, (size_t)(n * k));
        h->dw = wdst;
        if (is_static) { /* the layout for u8 NHWC chains */
            void *nhwc = (uint8_t *)wdst + round64((size_t)(n * k));
            cpu_depthwise_s8_nhwc_pack(h->path, n, k, w->data, nhwc);
            h->dw_nhwc = nhwc;
        }
    } else {
        h->group_bytes = group_block(isa, k, n / groups);
        for (int64_t j = 0; j < groups; j++)
            gemm_s8_pack(h->path, k, n / groups, (const int8_t *)w->data + j * (n / groups) * k, k,
                         (uint8_t *)wdst + (size_t)j * h->group_bytes);
        h->gemm = wdst;
    }
}

infer_status s8_weights_missing(const ir_node *n, infer_error *err) {
    return infer_fail(err, INFER_ERR_UNSUPPORTED,
                      "%s '%s': the int8 weight was not prepared at engine build: it must be int8 per channel along "
                      "axis 0 with zero points 0, at most %d values per channel (or memory ran out)",
                      op_name(n->op), n->name, GEMM_S8_K_MAX);
}

void s8_describe(const void *packed, char *buf, size_t size) {
    const s8_weights *h = packed;
    const char *depthwise = h->path >= S8_PATH_AVX512_VNNI ? "depthwise avx512" : h->path >= S8_PATH_AVX2 ? "depthwise avx2"
                                                                                                  : "depthwise scalar";
    snprintf(buf, size, "int8 per-channel, %s, %s%s", h->is_static ? "static" : "dynamic",
             h->depthwise ? depthwise : s8_path_name(h->path), !h->depthwise && h->groups > 1 ? ", grouped" : "");
}

int cpu_s8_weight_input(const ir_node *n, int k) { return k == 1; }
