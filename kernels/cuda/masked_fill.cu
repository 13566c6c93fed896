/* masked_fill.cu — y = mask ? value : x, the bool mask broadcast to x (any element size). */
#include "cuda_common.cuh"

template <typename E>
__global__ void masked_fill_kernel(cuda_bcast bc, const E *x, const uint8_t *mask, E *y, int64_t n, E value) {
    GRID_STRIDE(i, n) {
        int64_t off[2];
        bcast_offsets<2>(bc, i, off);
        y[i] = mask[off[1]] ? value : x[off[0]];
    }
}

extern "C" infer_status cuda_masked_fill(void *stream, size_t es, const cuda_bcast *bc, const void *x,
                                         const void *mask, void *y, int64_t n, uint64_t value_bits,
                                         infer_error *err) {
    if (n <= 0) return INFER_OK;
    unsigned g = kernel_grid(n);
    cudaStream_t s = KSTREAM(stream);
    const uint8_t *m = (const uint8_t *)mask;
    switch (es) {
    case 1: masked_fill_kernel<uint8_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint8_t *)x, m, (uint8_t *)y, n, (uint8_t)value_bits); break;
    case 2: masked_fill_kernel<uint16_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint16_t *)x, m, (uint16_t *)y, n, (uint16_t)value_bits); break;
    case 4: masked_fill_kernel<uint32_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint32_t *)x, m, (uint32_t *)y, n, (uint32_t)value_bits); break;
    case 8: masked_fill_kernel<uint64_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint64_t *)x, m, (uint64_t *)y, n, (uint64_t)value_bits); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "masked_fill: element size %zu", es);
    }
    KERNEL_CHECK("masked_fill");
    return INFER_OK;
}
