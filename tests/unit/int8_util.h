/* int8_util.h — what the INT8 kernel tests share: seeded u8/s8 data, a context with GEMM scratch, and
 * the per-path test that skips visibly where the CPU cannot run the path. */
#ifndef INFER_INT8_UTIL_H
#define INFER_INT8_UTIL_H

#include <criterion/criterion.h>
#include "testutil.h"
#include "kernel_util.h"
#include "../../kernels/cpu/gemm_s8.h"

static inline uint8_t *rng_u8(test_rng *r, int64_t n) {
    uint8_t *x = malloc((size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) x[i] = (uint8_t)(rng_u64(r) >> 56);
    return x;
}

static inline int8_t *rng_s8(test_rng *r, int64_t n) {
    int8_t *x = malloc((size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) x[i] = (int8_t)(uint8_t)(rng_u64(r) >> 56);
    return x;
}

/* A context of threads (1: no pool) with per-thread GEMM scratch; free with int8_ctx_free. */
static inline cpu_ctx int8_ctx(int threads) {
    cpu_ctx ctx = kernel_ctx(threads);
    ctx.scratch = aligned_alloc(64, (size_t)ctx.threads * CPU_SCRATCH_BYTES);
    return ctx;
}

static inline void int8_ctx_free(cpu_ctx *ctx) {
    pool_destroy(ctx->pool);
    free(ctx->scratch);
}

/* Skips the test, visibly, when this CPU cannot run path. */
#define REQUIRE_S8_PATH(path)                                                                              \
    do {                                                                                                   \
        if (!s8_path_supported(path)) cr_skip_test("this CPU cannot run the %s INT8 path", s8_path_name(path)); \
    } while (0)

#endif
