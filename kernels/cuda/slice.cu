/* slice.cu — y [outer, len, inner] = x [outer, dim, inner] taken at start, start + step, ... along the middle axis. */
#include "cuda_common.cuh"

template <typename E>
__global__ void slice_kernel(const E *x, E *y, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t step,
                             int64_t len) {
    GRID_STRIDE(i, outer * len * inner) {
        int64_t j = i % inner, l = (i / inner) % len, o = i / (inner * len);
        y[i] = x[(o * dim + start + l * step) * inner + j];
    }
}

extern "C" infer_status cuda_slice(void *stream, size_t es, const void *x, void *y, int64_t outer, int64_t dim,
                                   int64_t inner, int64_t start, int64_t step, int64_t len, infer_error *err) {
    int64_t n = outer * len * inner;
    if (n <= 0) return INFER_OK;
    unsigned g = kernel_grid(n);
    cudaStream_t s = KSTREAM(stream);
    switch (es) {
    case 1: slice_kernel<uint8_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint8_t *)x, (uint8_t *)y, outer, dim, inner, start, step, len); break;
    case 2: slice_kernel<uint16_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint16_t *)x, (uint16_t *)y, outer, dim, inner, start, step, len); break;
    case 4: slice_kernel<uint32_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint32_t *)x, (uint32_t *)y, outer, dim, inner, start, step, len); break;
    case 8: slice_kernel<uint64_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint64_t *)x, (uint64_t *)y, outer, dim, inner, start, step, len); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "slice: element size %zu", es);
    }
    KERNEL_CHECK("slice");
    return INFER_OK;
}
