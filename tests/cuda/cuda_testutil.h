/* cuda_testutil.h — helpers for the CUDA engine tests: skip visibly without a GPU, the tolerance per precision. */
#ifndef INFER_CUDA_TESTUTIL_H
#define INFER_CUDA_TESTUTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include "testutil.h"
#include "../../base/ops.h"
#include "../../runtime/cuda/cuda_backend.h"

/* Every test that needs a GPU starts with this: here (no GPU) it is reported as skipped, with the reason. */
#define REQUIRE_CUDA()                                                              \
    do {                                                                            \
        char require_cuda_why_[512];                                                \
        if (!cuda_device_usable(require_cuda_why_, sizeof require_cuda_why_))       \
            cr_skip_test("no usable CUDA device: %s", require_cuda_why_);           \
    } while (0)

/* The tolerance of the project: FP32 without TF32 1e-5, FP16 5e-3 (TF32 1e-3). */
static inline double ct_tol(infer_precision p) {
    return p == INFER_PRECISION_FP16 ? 5e-3 : p == INFER_PRECISION_TF32 ? 1e-3 : 1e-5;
}

#endif
