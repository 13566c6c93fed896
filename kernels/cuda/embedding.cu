/* embedding.cu — gather rows of a [vocab, d] table by id; an id out of range zeroes its row and raises a device flag. */
#include "cuda_common.cuh"

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

extern "C" infer_status cuda_embedding(void *stream, int half, const void *ids, int ids_i64, const void *w, void *y,
                                       int64_t n_ids, int64_t vocab, int64_t d, unsigned long long *flag,
                                       unsigned long long code, infer_error *err) {
    if (n_ids <= 0 || d <= 0) return INFER_OK;
    return half ? embedding_launch<__half>(KSTREAM(stream), ids, ids_i64, w, y, n_ids, vocab, d, flag, code, err)
                : embedding_launch<float>(KSTREAM(stream), ids, ids_i64, w, y, n_ids, vocab, d, flag, code, err);
}
