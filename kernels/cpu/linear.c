/* linear.c — y = act(x · wᵀ + b + residual) over the last axis of x, as one GEMM (with w packed at engine
 * build when the engine prepacked it). */
#include <stdint.h>
#include "cpu_kernels.h"
#include "sparse.h"
#include "s8_layer.h"
#include "../../base/error.h"

/* Fewer output columns than this stay unpacked: the GEMM's few-columns path streams w as it is. */
#define LINEAR_PREPACK_MIN_N 5

size_t cpu_linear_prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    const infer_tensor *w = &in[1];
    if (n->n_in < 2 || !w->data || w->dtype != INFER_F32 || w->ndim != 2 || w->dims[0] < LINEAR_PREPACK_MIN_N ||
        w->dims[1] < 1)
        return 0;
    size_t bytes = cpu_sgemm_packed_b_size(isa, w->dims[1], w->dims[0]);
    return bytes == SIZE_MAX ? 0 : bytes;
}

/* op(B) = wᵀ: [K, N] from w [N, K]. */
void cpu_linear_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    (void)n;
    const infer_tensor *w = &in[1];
    cpu_sgemm_pack_b(isa, 1, w->dims[1], w->dims[0], w->data, w->dims[1], dst);
}

CPU_KERNEL(linear) {
    for (int k = 0; k < n->n_in && k < 4; k++)
        if (in[k].data && in[k].dtype != INFER_F32)
            return infer_fail(err, INFER_ERR_DTYPE, "linear: input %d is %s, expected f32", k,
                              infer_dtype_name(in[k].dtype));
    const infer_tensor *x = &in[0], *w = &in[1];
    if (x->ndim < 1 || w->ndim != 2 || out[0].ndim != x->ndim)
        return infer_fail(err, INFER_ERR_SHAPE, "linear: input of %d dims, weight of %d dims, output of %d dims",
                          x->ndim, w->ndim, out[0].ndim);
    int64_t k_dim = w->dims[1], n_dim = w->dims[0];
    if (x->dims[x->ndim - 1] != k_dim || out[0].dims[out[0].ndim - 1] != n_dim)
        return infer_fail(err, INFER_ERR_SHAPE, "linear: input's last dim %lld and output's %lld do not match "
                          "weight [%lld,%lld]", (long long)x->dims[x->ndim - 1],
                          (long long)out[0].dims[out[0].ndim - 1], (long long)n_dim, (long long)k_dim);
    int64_t m_dim = k_dim ? infer_tensor_elements(x) / k_dim : infer_tensor_elements(&out[0]) / (n_dim ? n_dim : 1);
    const float *bias = n->n_in > 2 ? in[2].data : NULL, *residual = n->n_in > 3 ? in[3].data : NULL;
    if (bias && infer_tensor_elements(&in[2]) != n_dim)
        return infer_fail(err, INFER_ERR_SHAPE, "linear: bias has %lld values for %lld outputs",
                          (long long)infer_tensor_elements(&in[2]), (long long)n_dim);
    if (residual && infer_tensor_elements(&in[3]) != infer_tensor_elements(&out[0]))
        return infer_fail(err, INFER_ERR_SHAPE, "linear: residual has %lld elements, the output %lld",
                          (long long)infer_tensor_elements(&in[3]), (long long)infer_tensor_elements(&out[0]));
    gemm_epilogue ep = { bias, 0, residual, n_dim, n->p.linear.act };
    if (ctx->prepacked && k_dim > 0)
        cpu_sgemm_packed(ctx, m_dim, n_dim, k_dim, x->data, k_dim, ctx->prepacked, out[0].data, n_dim, &ep);
    else cpu_sgemm(ctx, 0, 1, m_dim, n_dim, k_dim, x->data, k_dim, w->data, k_dim, out[0].data, n_dim, &ep);
    return INFER_OK;
}

static int prepacks_weight(const ir_node *n, int k) { return k == 1; }

/* Every run with a packed weight reads the packed panels only. */
static int packed_only(const void *packed, int isa) {
    (void)isa;
    return packed != NULL;
}

const cpu_kernel cpu_kernels_linear[] = {
    { .storages = CPU_DENSE,
      .run = cpu_linear,
      .prepack_input = prepacks_weight,
      .prepack_size = cpu_linear_prepack_size,
      .prepack = cpu_linear_prepack,
      .packed_only = packed_only },
    CPU_LINEAR_SPARSE_KERNELS,
    CPU_LINEAR_S8_KERNEL,
    { 0 },
};
