/* embedding.cu — gather rows of a [vocab, d] table by id; an id out of range zeroes its row and raises a device flag. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename T, typename I>
__global__ void embedding_kernel(const I *ids, const T *w, T *y, int64_t n_ids, int64_t vocab, int64_t d,
                                 unsigned long long *flag, unsigned long long code) {
    GRID_STRIDE(i, n_ids * d) {
        int64_t r = i / d, j = i % d;
        int64_t id = (int64_t)ids[r];
        if (id < 0 || id >= vocab) {
            y[i] = T(0.0f);
            if (j == 0 && flag && atomicCAS(&flag[0], 0ull, code) == 0ull) flag[1] = (unsigned long long)id;
        } else {
            y[i] = w[id * d + j];
        }
    }
}

template <typename T>
static infer_status embedding_launch(cudaStream_t s, const void *ids, int ids_i64, const void *w, void *y,
                                     int64_t n_ids, int64_t vocab, int64_t d, unsigned long long *flag,
                                     unsigned long long code, infer_error *err) {
    unsigned g = kernel_grid(n_ids * d);
    if (ids_i64)
        embedding_kernel<T, int64_t><<<g, KERNEL_BLOCK, 0, s>>>((const int64_t *)ids, (const T *)w, (T *)y, n_ids,
                                                                 vocab, d, flag, code);
    else
        embedding_kernel<T, int32_t><<<g, KERNEL_BLOCK, 0, s>>>((const int32_t *)ids, (const T *)w, (T *)y, n_ids,
                                                                 vocab, d, flag, code);
    KERNEL_CHECK("embedding");
    return INFER_OK;
}

extern "C" infer_status cuda_embedding(void *stream, infer_dtype dtype, const void *ids, int ids_i64, const void *w,
                                       void *y, int64_t n_ids, int64_t vocab, int64_t d, unsigned long long *flag,
                                       unsigned long long code, infer_error *err) {
    NEED_FLOAT_STORAGE("embedding", dtype);
    if (n_ids <= 0 || d <= 0) return INFER_OK;
    return dtype == INFER_F16
               ? embedding_launch<__half>(KSTREAM(stream), ids, ids_i64, w, y, n_ids, vocab, d, flag, code, err)
               : embedding_launch<float>(KSTREAM(stream), ids, ids_i64, w, y, n_ids, vocab, d, flag, code, err);
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static int supports_embedding(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *ids = cuda_node_input(g, n, 0), *w = cuda_node_input(g, n, 1);
    if (!ids || (ids->dtype != INFER_I64 && ids->dtype != INFER_I32))
        return cuda_refuse(why, len, "ids of dtype %s", ids ? infer_dtype_name(ids->dtype) : "?");
    if (!w || w->ndim != 2) return cuda_refuse(why, len, "embedding table is not 2-D");
    return cuda_floats_only(g, n, fp16, 1u << 0, 0, why, len);
}

static infer_status run_embedding(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                  const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    const infer_tensor *w = &in[1];
    return cuda_embedding(l->stream, y->dtype, x->data, x->dtype == INFER_I64, w->data, y->data, cuda_numel(x),
                          w->dims[0], w->dims[1], l->err_flag, l->code, err);
}

/* The ids. */
static int exact_input_embedding(const ir_graph *g, const ir_node *n, int k) { return k == 0; }

extern "C" const cuda_kernel cuda_kernels_embedding[] = {
    { CUDA_DENSE, supports_embedding, NULL, NULL, run_embedding, 0, exact_input_embedding },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
