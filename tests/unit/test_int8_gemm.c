/* test_int8_gemm.c — cpu_gemm_s8 on every path against a naive reference of the documented arithmetic:
 * odd M, N, K (K not a multiple of 4 or 64), u8 and f32 outputs, per-tensor and per-row activation
 * quantization, relu/clip/gelu, u8 and transposed f32 residuals, serial and threaded, the extremes of u8 x s8 at the longest K. Integer
 * accumulation makes every path agree exactly. */
#include "int8_util.h"
#include "../../kernels/cpu/gemm_internal.h"
#include "../../kernels/cpu/gemm_s8_internal.h"

typedef struct { int64_t m, n, k; } size3;

static const size3 sizes[] = {
    { 1, 1, 1 },    { 3, 7, 17 },   { 7, 33, 3 },    { 17, 3, 65 },  { 33, 65, 7 },   { 65, 17, 129 },
    { 129, 33, 33 }, { 1, 129, 65 }, { 17, 129, 1 },  { 7, 65, 129 }, { 33, 1, 17 },   { 65, 129, 64 },
    { 200, 70, 300 }, { 16, 32, 128 }, { 3, 1000, 200 }, { 129, 7, 257 },
};

enum { EP_U8_PLAIN, EP_U8_BIAS_RELU, EP_U8_RELU6, EP_F32_BIAS, EP_F32_ROWS_CLIP, EP_F32_GELU,
       EP_U8_RESIDUALS_RELU, /* u8 out, a u8 residual and an f32 transposed one (cpu_gemm_s8_whole_rows) */
       EP_F32_RESIDUAL_RELU, /* f32 out, a u8 residual */
       EP_U8_RESIDUAL_ROWS_RELU, /* u8 out, a u8 residual and an f32 one in rows (NHWC: f32_rows) */
       EP_COUNT };

typedef struct {
    int64_t m, n, k;
    uint8_t *a;
    int8_t *w;       /* [n, k] */
    float *w_scale, *bias, *a_scales;
    int32_t *a_zeros;
    gemm_s8_epilogue ep;
    gemm_s8_residual res; /* res.q [m, n + 3], res.f32 [n, m + 2] (transposed) or [m, n + 5] (rows), or none */
    int has_res;
} problem;

static problem make_problem(const size3 *s, int kind, uint64_t seed) {
    test_rng r = rng_seed(seed);
    problem p;
    memset(&p, 0, sizeof p);
    p.m = s->m;
    p.n = s->n;
    p.k = s->k;
    p.a = rng_u8(&r, s->m * s->k);
    p.w = rng_s8(&r, s->n * s->k);
    p.w_scale = rng_array(&r, s->n, 0.001f, 0.02f);
    p.bias = rng_array(&r, s->n, -2.0f, 2.0f);
    p.a_scales = rng_array(&r, s->m, 0.005f, 0.05f);
    p.a_zeros = malloc((size_t)s->m * sizeof(int32_t));
    for (int64_t i = 0; i < s->m; i++) p.a_zeros[i] = (int32_t)(rng_u64(&r) % 256);
    gemm_s8_epilogue *ep = &p.ep;
    ep->a_scale = p.a_scales;
    ep->a_zero = p.a_zeros;
    ep->w_scale = p.w_scale;
    /* an output scale that maps the outputs' spread onto a good part of [0, 255] */
    ep->out_scale = 0.004f * sqrtf((float)s->k);
    ep->out_zero = 100;
    switch (kind) {
    case EP_U8_PLAIN: ep->out_u8 = 1; break;
    case EP_U8_BIAS_RELU: ep->out_u8 = 1; ep->bias = p.bias; ep->act.kind = ACT_RELU; break;
    case EP_U8_RELU6:
        ep->out_u8 = 1;
        ep->bias = p.bias;
        ep->out_zero = 3;
        ep->act = (act_params){ ACT_CLIP, 0.0f, 6.0f * ep->out_scale * 0.3f };
        break;
    case EP_F32_BIAS: ep->bias = p.bias; break;
    case EP_F32_ROWS_CLIP: ep->a_per_row = 1; ep->act = (act_params){ ACT_CLIP, -0.5f, 0.75f }; break;
    case EP_F32_GELU: ep->a_per_row = 1; ep->bias = p.bias; ep->act.kind = ACT_GELU; break;
    case EP_U8_RESIDUALS_RELU:
    case EP_F32_RESIDUAL_RELU:
    case EP_U8_RESIDUAL_ROWS_RELU:
        ep->out_u8 = kind != EP_F32_RESIDUAL_RELU;
        ep->bias = p.bias;
        ep->act.kind = ACT_RELU;
        p.has_res = 1;
        p.res.ld = s->n + 3;
        p.res.q = rng_u8(&r, s->m * p.res.ld);
        p.res.scale = 0.01f;
        p.res.zero = 77;
        if (kind == EP_U8_RESIDUALS_RELU) {
            p.res.ld_f32 = s->m + 2;
            p.res.f32 = rng_array(&r, s->n * p.res.ld_f32, -1.0f, 1.0f);
        }
        if (kind == EP_U8_RESIDUAL_ROWS_RELU) {
            p.res.f32_rows = 1;
            p.res.ld_f32 = s->n + 5;
            p.res.f32 = rng_array(&r, s->m * p.res.ld_f32, -1.0f, 1.0f);
        }
        break;
    default: break;
    }
    return p;
}

static void free_problem(problem *p) {
    free(p->a);
    free(p->w);
    free(p->w_scale);
    free(p->bias);
    free(p->a_scales);
    free(p->a_zeros);
    free((void *)p->res.q);
    free((void *)p->res.f32);
}

/* The documented arithmetic, from the unpacked weights: exact dot product in int64, then the epilogue. */
static void reference(const problem *p, int isa, void *c, int64_t ldc) {
    const gemm_s8_epilogue *ep = &p->ep;
    float zo = (float)ep->out_zero, lo = -INFINITY, hi = INFINITY;
    if (ep->out_u8) {
        lo = 0.0f - zo;
        hi = 255.0f - zo;
        if (ep->act.kind == ACT_RELU) lo = 0.0f;
        if (ep->act.kind == ACT_CLIP) {
            lo = fmaxf(lo, fminf(nearbyintf(ep->act.min * (1.0f / ep->out_scale)), 255.0f - zo));
            hi = fminf(hi, fmaxf(nearbyintf(ep->act.max * (1.0f / ep->out_scale)), -zo));
        }
    } else if (ep->act.kind == ACT_RELU) {
        lo = 0.0f;
    } else if (ep->act.kind == ACT_CLIP) {
        lo = ep->act.min;
        hi = ep->act.max;
    }
    for (int64_t i = 0; i < p->m; i++) {
        int64_t r = ep->a_per_row ? i : 0;
        for (int64_t j = 0; j < p->n; j++) {
            int64_t dot = 0;
            for (int64_t q = 0; q < p->k; q++)
                dot += ((int64_t)p->a[i * p->k + q] - ep->a_zero[r]) * p->w[j * p->k + q];
            cr_assert(dot >= INT32_MIN && dot <= INT32_MAX);
            float m = ep->w_scale[j], inv = ep->out_u8 ? 1.0f / ep->out_scale : 1.0f;
            float o = ep->bias ? ep->bias[j] : 0.0f;
            float v = fmaf((float)(int32_t)dot, ep->a_scale[r] * m, o);
            if (p->res.q) v = fmaf((float)((int32_t)p->res.q[i * p->res.ld + j] - p->res.zero), p->res.scale, v);
            if (p->res.f32) v += p->res.f32[p->res.f32_rows ? i * p->res.ld_f32 + j : j * p->res.ld_f32 + i];
            v = fminf(fmaxf(v * inv, lo), hi);
            if (ep->out_u8) ((uint8_t *)c)[i * ldc + j] = (uint8_t)(nearbyintf(v) + zo);
            else ((float *)c)[i * ldc + j] = v;
        }
    }
    if (!ep->out_u8 && ep->act.kind == ACT_GELU) {
        gemm_epilogue act_only;
        memset(&act_only, 0, sizeof act_only);
        act_only.act = ep->act;
        cpu_epilogue_isa(isa, c, p->m, p->n, ldc, &act_only, 0, 0);
    }
}

/* C with 5 guard elements past each row's N columns, which must stay untouched. */
static void check_path(int path, int threads) {
    cpu_ctx ctx = int8_ctx(threads);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int kind = 0; kind < EP_COUNT; kind++) {
            problem p = make_problem(&sizes[s], kind, 1000 + s * 16 + (uint64_t)kind);
            cr_assert_null(gemm_s8_epilogue_problem(&p.ep));
            size_t bytes = gemm_s8_packed_size(path, p.k, p.n);
            cr_assert_neq(bytes, SIZE_MAX);
            void *packed = aligned_alloc(64, (bytes + 63) / 64 * 64);
            gemm_s8_pack(path, p.k, p.n, p.w, p.k, packed);
            cr_assert_eq(gemm_s8_packed_path(packed), path);
            int64_t ldc = p.n + 5, elem = p.ep.out_u8 ? 1 : 4;
            uint8_t *got = malloc((size_t)(p.m * ldc * elem)), *want = malloc((size_t)(p.m * ldc * elem));
            memset(got, 0xA5, (size_t)(p.m * ldc * elem));
            memset(want, 0xA5, (size_t)(p.m * ldc * elem));
            if (p.has_res) cpu_gemm_s8_whole_rows(&ctx, p.m, p.a, p.k, packed, got, ldc, &p.ep, &p.res);
            else cpu_gemm_s8(&ctx, p.m, p.a, p.k, packed, got, ldc, &p.ep);
            reference(&p, ctx.isa, want, ldc);
            for (int64_t i = 0; i < p.m; i++)
                for (int64_t j = 0; j < ldc; j++) {
                    int64_t at = i * ldc + j;
                    if (p.ep.out_u8)
                        cr_assert_eq(got[at], want[at], "%s %ldx%ldx%ld ep %d: C[%ld][%ld] = %d, want %d",
                                     s8_path_name(path), p.m, p.n, p.k, kind, i, j, got[at], want[at]);
                    else
                        cr_assert(memcmp(got + 4 * at, want + 4 * at, 4) == 0 ||
                                      ((float *)got)[at] == ((float *)want)[at],
                                  "%s %ldx%ldx%ld ep %d: C[%ld][%ld] = %.9g, want %.9g", s8_path_name(path), p.m,
                                  p.n, p.k, kind, i, j, ((float *)got)[at], ((float *)want)[at]);
                }
            if (kind == EP_F32_RESIDUAL_RELU) { /* the same through the transposed (NCHW) store */
                float *y = malloc((size_t)(p.m * p.n) * sizeof(float));
                cpu_gemm_s8_nchw(&ctx, p.m, p.a, p.k, packed, y, p.m, &p.ep, NULL, (act_params){ ACT_NONE, 0, 0 },
                                 &p.res);
                for (int64_t i = 0; i < p.m; i++)
                    for (int64_t j = 0; j < p.n; j++)
                        cr_assert(y[j * p.m + i] == ((float *)want)[i * ldc + j], "%s %ldx%ldx%ld nchw: Y[%ld][%ld] = "
                                  "%.9g, want %.9g", s8_path_name(path), p.m, p.n, p.k, j, i, y[j * p.m + i],
                                  ((float *)want)[i * ldc + j]);
                free(y);
            }
            free(got);
            free(want);
            free(packed);
            free_problem(&p);
        }
    }
    int8_ctx_free(&ctx);
}

Test(int8_gemm, scalar) { check_path(S8_PATH_SCALAR, 1); }
Test(int8_gemm, scalar_threaded) { check_path(S8_PATH_SCALAR, 2); }

Test(int8_gemm, avx2) {
    REQUIRE_S8_PATH(S8_PATH_AVX2);
    check_path(S8_PATH_AVX2, 1);
    check_path(S8_PATH_AVX2, 2);
}

Test(int8_gemm, avx_vnni) {
    REQUIRE_S8_PATH(S8_PATH_AVX_VNNI);
    check_path(S8_PATH_AVX_VNNI, 1);
    check_path(S8_PATH_AVX_VNNI, 2);
}

Test(int8_gemm, avx512_vnni) {
    REQUIRE_S8_PATH(S8_PATH_AVX512_VNNI);
    check_path(S8_PATH_AVX512_VNNI, 1);
    check_path(S8_PATH_AVX512_VNNI, 2);
}

Test(int8_gemm, amx) {
    REQUIRE_S8_PATH(S8_PATH_AMX);
    check_path(S8_PATH_AMX, 1);
    check_path(S8_PATH_AMX, 2);
}

/* The extremes at the longest K: 255 * -128 summed 65536 times is -2139095040, inside int32. A path
 * that added u8*s8 pairs in int16 (vpmaddubsw) would saturate at -32768 per pair. */
Test(int8_gemm, extremes_do_not_saturate) {
    int64_t k = GEMM_S8_K_MAX, n = 3;
    uint8_t *a = malloc((size_t)k);
    int8_t *w = malloc((size_t)(n * k));
    memset(a, 255, (size_t)k);
    for (int64_t i = 0; i < n * k; i++) w[i] = i < k ? -128 : i < 2 * k ? 127 : (i % 2 ? -128 : 127);
    float one = 1.0f, w_scale[3] = { 1.0f, 1.0f, 1.0f };
    int32_t zero = 0;
    gemm_s8_epilogue ep = { &one, &zero, 0, w_scale, NULL, 0, 0.0f, 0, { ACT_NONE, 0, 0 } };
    double want[3] = { -255.0 * 128 * k, 255.0 * 127 * k, 255.0 * (127 - 128) * (k / 2) };
    cpu_ctx ctx = int8_ctx(1);
    for (int path = 0; path < S8_PATH_COUNT; path++) {
        if (!s8_path_supported(path)) continue;
        size_t bytes = gemm_s8_packed_size(path, k, n);
        void *packed = aligned_alloc(64, (bytes + 63) / 64 * 64);
        gemm_s8_pack(path, k, n, w, k, packed);
        float c[3];
        cpu_gemm_s8(&ctx, 1, a, k, packed, c, n, &ep);
        for (int j = 0; j < 3; j++)
            cr_assert_eq(c[j], (float)want[j], "%s: column %d = %.1f, want %.1f", s8_path_name(path), j, c[j],
                         want[j]);
        free(packed);
    }
    int8_ctx_free(&ctx);
    free(a);
    free(w);
    cr_assert_eq(gemm_s8_packed_size(S8_PATH_SCALAR, GEMM_S8_K_MAX + 1, 4), SIZE_MAX);
}

/* K = 0: the product is 0, the output the epilogue of 0 (bias, then the activation). */
Test(int8_gemm, empty_reduction) {
    float one = 1.0f, w_scale[5] = { 1, 1, 1, 1, 1 }, bias[5] = { -2, -1, 0, 1, 2 }, c[3 * 5];
    int32_t zero = 7;
    int8_t w[1] = { 0 };
    uint8_t a[1] = { 0 };
    gemm_s8_epilogue ep = { &one, &zero, 0, w_scale, bias, 0, 0.0f, 0, { ACT_RELU, 0, 0 } };
    cpu_ctx ctx = int8_ctx(1);
    for (int path = 0; path < S8_PATH_COUNT; path++) {
        if (!s8_path_supported(path)) continue;
        void *packed = aligned_alloc(64, (gemm_s8_packed_size(path, 0, 5) + 63) / 64 * 64);
        gemm_s8_pack(path, 0, 5, w, 0, packed);
        memset(c, 0xFF, sizeof c);
        cpu_gemm_s8(&ctx, 3, a, 0, packed, c, 5, &ep);
        for (int i = 0; i < 15; i++) cr_assert_eq(c[i], fmaxf(bias[i % 5], 0.0f), "%s", s8_path_name(path));
        free(packed);
    }
    int8_ctx_free(&ctx);
}

Test(int8_gemm, refuses_bad_epilogues) {
    float one = 1.0f;
    int32_t zero = 0;
    gemm_s8_epilogue ep = { &one, &zero, 0, &one, NULL, 1, 0.1f, 0, { ACT_GELU, 0, 0 } };
    cr_assert_not_null(gemm_s8_epilogue_problem(&ep));
    ep.act.kind = ACT_RELU;
    cr_assert_null(gemm_s8_epilogue_problem(&ep));
    ep.out_zero = 256;
    cr_assert_not_null(gemm_s8_epilogue_problem(&ep));
    ep.out_zero = 0;
    ep.out_scale = 0.0f;
    cr_assert_not_null(gemm_s8_epilogue_problem(&ep));
    ep.out_scale = 1.0f;
    ep.w_scale = NULL;
    cr_assert_not_null(gemm_s8_epilogue_problem(&ep));
}

/* Each path the CPU has is reported, so that a run's log says what it exercised. */
Test(int8_gemm, paths_of_this_cpu) {
    cr_assert(s8_path_supported(S8_PATH_SCALAR));
    cr_assert(s8_path_supported(s8_path_best()));
    for (int path = 0; path < S8_PATH_COUNT; path++)
        cr_log_info("INT8 path %-12s %s", s8_path_name(path), s8_path_supported(path) ? "runs here" : "not on this CPU");
}
