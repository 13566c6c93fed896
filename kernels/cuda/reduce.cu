/* reduce.cu — mean, sum, max or min over any set of axes, accumulated in float. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

struct reduce_t {
    int nk, nr;                    /* kept and reduced dimensions (merged where contiguous) */
    int64_t kdims[INFER_MAX_DIMS], kstr[INFER_MAX_DIMS];
    int64_t rdims[INFER_MAX_DIMS], rstr[INFER_MAX_DIMS];
    int64_t rcount;
};

__device__ __forceinline__ float red_init(int kind) {
    return kind == RED_MAX ? -INFINITY : kind == RED_MIN ? INFINITY : 0.0f;
}
/* max/min propagate NaN like torch.amax / torch.amin (and the CPU kernel) */
__device__ __forceinline__ float red_step(int kind, float acc, float v) {
    if (kind == RED_MAX) return (acc != acc) ? acc : (v > acc || v != v) ? v : acc;
    if (kind == RED_MIN) return (acc != acc) ? acc : (v < acc || v != v) ? v : acc;
    return acc + v;
}
__device__ __forceinline__ float warp_reduce(int kind, float v) {
    for (int o = 16; o > 0; o >>= 1) v = red_step(kind, v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* One thread per output element. */
template <typename T>
__global__ void reduce_generic_kernel(reduce_t r, const T *x, T *y, int64_t n_out, int kind) {
    GRID_STRIDE(o, n_out) {
        int64_t rem = o, base = 0;
        for (int d = r.nk - 1; d >= 0; d--) {
            base += (rem % r.kdims[d]) * r.kstr[d];
            rem /= r.kdims[d];
        }
        float acc = red_init(kind);
        for (int64_t j = 0; j < r.rcount; j++) {
            int64_t jr = j, off = base;
            for (int d = r.nr - 1; d >= 0; d--) {
                off += (jr % r.rdims[d]) * r.rstr[d];
                jr /= r.rdims[d];
            }
            acc = red_step(kind, acc, ldf(x, off));
        }
        if (kind == RED_MEAN) acc /= (float)r.rcount;
        stf(y, o, acc);
    }
}

/* The reduced elements of each output are contiguous (the trailing axes): one warp per output. */
template <typename T>
__global__ void reduce_rows_kernel(const T *x, T *y, int64_t rows, int64_t len, int kind) {
    int lane = threadIdx.x & 31;
    int64_t warp = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int64_t nwarps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t r = warp; r < rows; r += nwarps) {
        float acc = red_init(kind);
        for (int64_t j = lane; j < len; j += 32) acc = red_step(kind, acc, ldf(x, r * len + j));
        acc = warp_reduce(kind, acc);
        if (kind == RED_MEAN) acc /= (float)len;
        if (lane == 0) stf(y, r, acc);
    }
}

template <typename T>
static infer_status reduce_launch(cudaStream_t s, const reduce_t &r, int64_t n_out, const void *x, void *y, int kind,
                                  infer_error *err) {
    if (r.nr == 1 && r.rstr[0] == 1 && r.nk <= 1 && (r.nk == 0 || r.kstr[0] == r.rdims[0])) {
        reduce_rows_kernel<T><<<kernel_grid(n_out * 32), KERNEL_BLOCK, 0, s>>>((const T *)x, (T *)y, n_out, r.rdims[0], kind);
    } else {
        reduce_generic_kernel<T><<<kernel_grid(n_out), KERNEL_BLOCK, 0, s>>>(r, (const T *)x, (T *)y, n_out, kind);
    }
    KERNEL_CHECK("reduce");
    return INFER_OK;
}

extern "C" infer_status cuda_reduce(void *stream, infer_dtype dtype, const void *x, void *y, int ndim,
                                    const int64_t *dims, unsigned axes_mask, reduce_kind kind, infer_error *err) {
    NEED_FLOAT_STORAGE("reduce", dtype);
    if (ndim < 0 || ndim > INFER_MAX_DIMS) return infer_fail(err, INFER_ERR_INTERNAL, "reduce: %d dims", ndim);
    int64_t str[INFER_MAX_DIMS], n_out = 1, total = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        str[d] = total;
        total *= dims[d];
    }
    reduce_t r;
    r.nk = r.nr = 0;
    r.rcount = 1;
    int last = -1; /* kind of the previous non-trivial dim: 0 kept, 1 reduced */
    for (int d = 0; d < ndim; d++) {
        if (dims[d] == 1) continue;
        int red = (axes_mask >> d) & 1;
        int64_t *kd = red ? r.rdims : r.kdims, *ks = red ? r.rstr : r.kstr;
        int *cnt = red ? &r.nr : &r.nk;
        if (last == red && ks[*cnt - 1] == str[d] * dims[d]) {
            kd[*cnt - 1] *= dims[d];
            ks[*cnt - 1] = str[d];
        } else {
            kd[*cnt] = dims[d];
            ks[*cnt] = str[d];
            (*cnt)++;
        }
        last = red;
        if (red) r.rcount *= dims[d];
        else n_out *= dims[d];
    }
    if (total <= 0 || n_out <= 0) return INFER_OK;
    if (r.nr == 0) { /* nothing reduced (size-1 axes): a copy */
        r.nr = 1;
        r.rdims[0] = 1;
        r.rstr[0] = 1;
    }
    return dtype == INFER_F16 ? reduce_launch<__half>(KSTREAM(stream), r, n_out, x, y, kind, err)
                              : reduce_launch<float>(KSTREAM(stream), r, n_out, x, y, kind, err);
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static infer_status run_reduce(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                               const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    unsigned mask = 0;
    const reduce_params *rp = &n->p.reduce;
    for (int i = 0; i < rp->naxes; i++) {
        int a = cuda_norm_axis(rp->axes[i], x->ndim);
        if (a < 0 || a >= x->ndim) return infer_fail(err, INFER_ERR_SHAPE, "reduce: axis %d", rp->axes[i]);
        mask |= 1u << a;
    }
    if (rp->naxes == 0) mask = (1u << x->ndim) - 1u; /* no axes: all of them */
    return cuda_reduce(l->stream, y->dtype, x->data, y->data, x->ndim, x->dims, mask, rp->kind, err);
}

extern "C" const cuda_kernel cuda_kernels_reduce[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_reduce, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
