/* test_int8_quantize.c — s8_quantize_rows (a static INT8 layer's per-tensor input quantization) on every ISA and
 * thread count against the documented formula: odd sizes, strided and contiguous rows, ties, NaN and infinities,
 * exact. */
#include <math.h>
#include "int8_util.h"
#include "../../kernels/cpu/s8_layer.h"

/* clamp(round_half_even(x / scale) + zero, 0, 255), NaN: 0 (docs/INT8.md) */
static uint8_t want_q(float x, float inv, int32_t zero) {
    float v = x * inv;
    if (v != v) return 0;
    double r = nearbyint(fmin(fmax(v, -1e9), 1e9)) + zero;
    return (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
}

static void check(int isa, int threads) {
    cpu_ctx ctx = int8_ctx(threads);
    ctx.isa = isa;
    static const struct { int64_t rows, cols, ldx, ldq; } shapes[] = {
        { 1, 1, 1, 1 }, { 7, 37, 41, 64 }, { 3, 5000, 5000, 5000 }, { 33, 15, 15, 15 }, { 2, 16, 16, 16 }, { 5, 9, 9, 9 },
    };
    test_rng r = rng_seed(77);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t rows = shapes[s].rows, cols = shapes[s].cols, ldx = shapes[s].ldx, ldq = shapes[s].ldq;
        float *x = rng_array(&r, rows * ldx, -3.0f, 5.0f);
        float scale = 8.0f / 255;
        int32_t zero = 96;
        /* ties (x / scale = k + 0.5), out of range, NaN and infinities */
        for (int64_t i = 0; i < rows * ldx; i += 7) x[i] = ((float)(i % 300) - 100.5f) * scale;
        x[0] = NAN;
        if (rows * ldx > 3) x[1] = INFINITY, x[2] = -INFINITY, x[3] = 1e30f;
        uint8_t *q = malloc((size_t)(rows * ldq + 64));
        memset(q, 0xA5, (size_t)(rows * ldq + 64));
        s8_quantize_rows(&ctx, rows, cols, x, ldx, scale, zero, q, ldq);
        float inv = 1.0f / scale;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < ldq; j++) {
                uint8_t want = j < cols ? want_q(x[i * ldx + j], inv, zero) : 0xA5;
                cr_assert_eq(q[i * ldq + j], want, "isa %d threads %d shape %zu: q[%ld][%ld] = %d, want %d (x %.9g)", isa,
                             threads, s, i, j, q[i * ldq + j], want, j < cols ? x[i * ldx + j] : 0.0f);
            }
        for (int64_t e = rows * ldq; e < rows * ldq + 64; e++) cr_assert_eq(q[e], 0xA5); /* nothing past q */
        free(x), free(q);
    }
    int8_ctx_free(&ctx);
}

Test(int8_quantize, scalar) { check(CPU_ISA_SCALAR, 1), check(CPU_ISA_SCALAR, 2); }

Test(int8_quantize, avx2) {
    if (cpu_detect_isa() < CPU_ISA_AVX2) cr_skip_test("this CPU has no AVX2");
    check(CPU_ISA_AVX2, 1), check(CPU_ISA_AVX2, 2);
}

Test(int8_quantize, avx512) {
    if (cpu_detect_isa() < CPU_ISA_AVX512) cr_skip_test("this CPU has no AVX-512");
    check(CPU_ISA_AVX512, 1), check(CPU_ISA_AVX512, 2);
}
