/* matmul.c — matmul on CUDA: cuBLASLt, one folded or strided-batched GEMM, or one per broadcast batch matrix. */
#include <string.h>
#include "cuda_plan.h"

static int supports_matmul(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *a = cuda_node_input(g, n, 0), *b = cuda_node_input(g, n, 1);
    if (!a || !b || a->ndim < 2 || b->ndim < 2) return cuda_refuse(why, len, "matmul of a 1-D operand");
    return cuda_floats_only(g, n, fp16, 0, 0, why, len);
}

/* Batch dims broadcast as in torch.matmul. */
typedef struct {
    int64_t M, N, K, ba, bb, bo; /* batch products of a, b and the output */
    cuda_bcast bc;               /* output batch index -> a / b matrix index */
} mm_shape;

static int mm_shape_of(const infer_tensor *a, const infer_tensor *b, const infer_tensor *y, mm_shape *s) {
    s->M = a->dims[a->ndim - 2], s->K = a->dims[a->ndim - 1], s->N = b->dims[b->ndim - 1];
    s->ba = cuda_prod(a->dims, 0, a->ndim - 2);
    s->bb = cuda_prod(b->dims, 0, b->ndim - 2);
    s->bo = cuda_prod(y->dims, 0, y->ndim - 2);
    int nd[2] = { a->ndim - 2, b->ndim - 2 };
    int64_t dims[2][INFER_MAX_DIMS];
    memset(dims, 0, sizeof dims);
    memcpy(dims[0], a->dims, (size_t)nd[0] * sizeof(int64_t));
    memcpy(dims[1], b->dims, (size_t)nd[1] * sizeof(int64_t));
    return cuda_bcast_build(&s->bc, y->ndim - 2, y->dims, 2, nd, (const int64_t(*)[INFER_MAX_DIMS])dims);
}

static infer_status prepare_matmul(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                   cuda_node_plan *p, infer_error *err) {
    mm_shape s;
    if (!mm_shape_of(&in[0], &in[1], &out[0], &s))
        return infer_fail(err, INFER_ERR_SHAPE, "matmul: batch dims do not broadcast");
    size_t es = cuda_esize(&out[0]);
    cuda_gemm_desc d;
    memset(&d, 0, sizeof d);
    d.N = s.N, d.K = s.K, d.batch = 1;
    d.align_a = d.align_b = d.align_c = 256;
    if (s.bb == 1 && s.ba == s.bo) { /* b shared: fold a's batch into M */
        d.M = s.ba * s.M;
    } else if (s.ba == s.bo && s.bb == s.bo) { /* same batch dims: strided batched */
        d.M = s.M, d.batch = s.bo;
        d.stride_a = s.M * s.K, d.stride_b = s.K * s.N, d.stride_c = s.M * s.N;
        d.align_a = cuda_align_of((uint64_t)d.stride_a * es);
        d.align_b = cuda_align_of((uint64_t)d.stride_b * es);
        d.align_c = cuda_align_of((uint64_t)d.stride_c * es);
    } else if (s.ba == 1 && s.bb == s.bo) { /* a shared: strided batched with a's stride 0 */
        d.M = s.M, d.batch = s.bo;
        d.stride_a = 0, d.stride_b = s.K * s.N, d.stride_c = s.M * s.N;
        d.align_b = cuda_align_of((uint64_t)d.stride_b * es);
        d.align_c = cuda_align_of((uint64_t)d.stride_c * es);
    } else { /* general broadcast: one GEMM per output matrix */
        p->matmul_loop = 1;
        d.M = s.M;
        d.align_a = cuda_align_of((uint64_t)(s.M * s.K) * es);
        d.align_b = cuda_align_of((uint64_t)(s.K * s.N) * es);
        d.align_c = cuda_align_of((uint64_t)(s.M * s.N) * es);
    }
    d.act.kind = ACT_NONE;
    return cuda_gemm_prepare(c, &p->gemm, &d, err);
}

static infer_status tune_matmul(cuda_ctx *c, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                const infer_tensor *out, infer_error *err) {
    return cuda_gemm_tune(c, &p->gemm, in[0].data, in[1].data, out[0].data, NULL, NULL, err);
}

static infer_status run_matmul(const cuda_launch *l, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                               const infer_tensor *out, infer_error *err) {
    if (!p->matmul_loop) return cuda_gemm_run(l->ctx, &p->gemm, in[0].data, in[1].data, out[0].data, NULL, NULL, err);
    mm_shape s;
    if (!mm_shape_of(&in[0], &in[1], &out[0], &s)) return infer_fail(err, INFER_ERR_SHAPE, "matmul: batch dims");
    size_t es = cuda_esize(&out[0]);
    for (int64_t o = 0; o < s.bo; o++) {
        int64_t rem = o, ia = 0, ib = 0;
        for (int d = s.bc.ndim - 1; d >= 0; d--) {
            int64_t idx = rem % s.bc.dims[d];
            rem /= s.bc.dims[d];
            ia += idx * s.bc.st[0][d];
            ib += idx * s.bc.st[1][d];
        }
        INFER_TRY(cuda_gemm_run(l->ctx, &p->gemm, (const char *)in[0].data + (size_t)(ia * s.M * s.K) * es,
                                (const char *)in[1].data + (size_t)(ib * s.K * s.N) * es,
                                (char *)out[0].data + (size_t)(o * s.M * s.N) * es, NULL, NULL, err));
    }
    return INFER_OK;
}

const cuda_kernel cuda_kernels_matmul[] = {
    { CUDA_DENSE, supports_matmul, prepare_matmul, tune_matmul, run_matmul, 0, NULL },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
