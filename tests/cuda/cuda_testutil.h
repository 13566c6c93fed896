/* cuda_testutil.h — helpers for the CUDA tests: skip visibly without a GPU, compare a CUDA node with the CPU kernel. */
#ifndef INFER_CUDA_TESTUTIL_H
#define INFER_CUDA_TESTUTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include "testutil.h"
#include "../../runtime/cuda/cuda_backend.h"
#include "../../runtime/cuda/cuda_testing.h"
#include "../../kernels/cpu/cpu_kernels.h"

/* Every test that needs a GPU starts with this: here (no GPU) it is reported as skipped, with the reason. */
#define REQUIRE_CUDA()                                                              \
    do {                                                                            \
        char require_cuda_why_[512];                                                \
        if (!cuda_device_usable(require_cuda_why_, sizeof require_cuda_why_))       \
            cr_skip_test("no usable CUDA device: %s", require_cuda_why_);           \
    } while (0)

static inline int64_t ct_count(const infer_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

/* Runs node n on the CPU (serial kernel, the oracle) and on the GPU at precision p; compares output
 * `which` by relative L2 (floats) or exactly (other dtypes). in: host inputs; out: shapes and dtypes
 * of the outputs (data ignored). Returns the relative error (0 for an exact match of non-floats). */
static inline double ct_compare_node(const ir_node *n, const infer_tensor *in, const infer_tensor *out_shape,
                                     infer_precision p, int which) {
    infer_tensor cpu_out[IR_MAX_OUTPUTS], gpu_out[IR_MAX_OUTPUTS];
    for (int k = 0; k < n->n_out; k++) {
        size_t bytes = (size_t)ct_count(&out_shape[k]) * infer_dtype_size(out_shape[k].dtype);
        cpu_out[k] = out_shape[k];
        gpu_out[k] = out_shape[k];
        cpu_out[k].data = calloc(1, bytes + 16);
        gpu_out[k].data = calloc(1, bytes + 16);
    }
    cpu_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.threads = 1;
    ctx.isa = cpu_detect_isa();
    infer_tensor shapes_in[IR_MAX_INPUTS];
    for (int k = 0; k < n->n_in; k++) shapes_in[k] = in[k];
    ctx.workspace_bytes = cpu_workspace_size(n, shapes_in, cpu_out, 1);
    ctx.workspace = calloc(1, ctx.workspace_bytes + 64);
    ctx.scratch = aligned_alloc(64, CPU_SCRATCH_BYTES);
    infer_error err;
    cpu_kernel_fn fn = cpu_kernel_for(n->op);
    cr_assert(fn != NULL, "no CPU kernel for %s", op_name(n->op));
    infer_status s = fn(&ctx, n, in, cpu_out, &err);
    cr_assert_eq(s, INFER_OK, "CPU %s: %s", op_name(n->op), err.message);
    s = cuda_test_run_node(n, in, gpu_out, p, &err);
    cr_assert_eq(s, INFER_OK, "CUDA %s (%s): %s", op_name(n->op), infer_precision_name(p), err.message);
    double e = 0;
    const infer_tensor *o = &out_shape[which];
    int64_t cnt = ct_count(o);
    if (o->dtype == INFER_F32) {
        e = rel_l2(gpu_out[which].data, cpu_out[which].data, cnt);
    } else {
        size_t bytes = (size_t)cnt * infer_dtype_size(o->dtype);
        e = memcmp(gpu_out[which].data, cpu_out[which].data, bytes) == 0 ? 0.0 : 1.0;
    }
    for (int k = 0; k < n->n_out; k++) {
        free(cpu_out[k].data);
        free(gpu_out[k].data);
    }
    free(ctx.workspace);
    free(ctx.scratch);
    return e;
}

/* The tolerance of the project: FP32 without TF32 1e-5, FP16 5e-3 (TF32 1e-3). */
static inline double ct_tol(infer_precision p) {
    return p == INFER_PRECISION_FP16 ? 5e-3 : p == INFER_PRECISION_TF32 ? 1e-3 : 1e-5;
}

/* Checks output 0 (and the others for multi-output ops) at FP32 and FP16. */
static inline void ct_check(const char *what, const ir_node *n, const infer_tensor *in, const infer_tensor *out) {
    infer_precision ps[2] = { INFER_PRECISION_FP32, INFER_PRECISION_FP16 };
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < n->n_out; k++) {
            double e = ct_compare_node(n, in, out, ps[i], k);
            cr_expect(e <= ct_tol(ps[i]), "%s (%s) output %d: relative L2 %.3g > %.3g", what,
                      infer_precision_name(ps[i]), k, e, ct_tol(ps[i]));
        }
}

#endif
