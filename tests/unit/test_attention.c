/* test_attention.c — multi-head attention (plain, causal, f32 and bool masks, scale) vs a naive double loop. */
#include <criterion/criterion.h>
#include <math.h>
#include "testutil.h"
#include "kernel_util.h"
#include "../../kernels/cpu/cpu_kernels.h"
#include "../../runtime/threadpool.h"

typedef struct {
    cpu_ctx ctx;
    void *workspace_owned;
} attn_env;

static attn_env attn_env_make(int threads) {
    attn_env env;
    memset(&env, 0, sizeof env);
    env.ctx = kernel_ctx(threads);
    env.ctx.scratch = aligned_alloc(64, CPU_SCRATCH_BYTES * (size_t)env.ctx.threads);
    return env;
}

static void attn_env_free(attn_env *env) {
    pool_destroy(env->ctx.pool);
    free(env->ctx.scratch);
    free(env->workspace_owned);
}

enum { MASK_NONE, MASK_F32, MASK_BOOL };

typedef struct {
    int64_t B, lq, lk, e;
    int heads, causal, mask;
    float scale;
} attn_case;

/* Runs the kernel and compares with a double-precision loop; returns the relative L2 error.
 * masked_row >= 0 masks that whole row out (bool mask) to check for NaN. */
static double run_attention(attn_env *env, const attn_case *c, int64_t masked_row, uint64_t seed) {
    test_rng r = rng_seed(seed);
    int64_t nq = c->B * c->lq * c->e, nk = c->B * c->lk * c->e, d = c->e / c->heads;
    float *q = rng_array(&r, nq, -1, 1), *k = rng_array(&r, nk, -1, 1), *v = rng_array(&r, nk, -1, 1);
    float *maskf = rng_array(&r, c->lq * c->lk, -2, 2);
    uint8_t *maskb = malloc((size_t)(c->lq * c->lk));
    for (int64_t i = 0; i < c->lq * c->lk; i++) maskb[i] = (rng_u64(&r) % 4) == 0 && (i % c->lk) != 0;
    for (int64_t j = 0; masked_row >= 0 && j < c->lk; j++) maskb[masked_row * c->lk + j] = 1;
    float *y = malloc((size_t)nq * sizeof *y), *ref = malloc((size_t)nq * sizeof *ref);
    double *s = malloc((size_t)c->lk * sizeof *s);
    double scale = c->scale != 0.0f ? c->scale : 1.0 / sqrt((double)d);
    for (int64_t b = 0; b < c->B; b++)
        for (int h = 0; h < c->heads; h++)
            for (int64_t i = 0; i < c->lq; i++) {
                double m = -INFINITY, sum = 0;
                for (int64_t j = 0; j < c->lk; j++) {
                    double dot = 0;
                    for (int64_t x = 0; x < d; x++)
                        dot += (double)q[(b * c->lq + i) * c->e + h * d + x] * k[(b * c->lk + j) * c->e + h * d + x];
                    s[j] = dot * scale;
                    if (c->mask == MASK_F32) s[j] += maskf[i * c->lk + j];
                    if (c->mask == MASK_BOOL && maskb[i * c->lk + j]) s[j] = -INFINITY;
                    if (c->causal && j > i) s[j] = -INFINITY;
                    m = fmax(m, s[j]);
                }
                for (int64_t j = 0; j < c->lk; j++) sum += s[j] = exp(s[j] - m);
                for (int64_t x = 0; x < d; x++) {
                    double acc = 0;
                    for (int64_t j = 0; j < c->lk; j++) acc += s[j] / sum * v[(b * c->lk + j) * c->e + h * d + x];
                    ref[(b * c->lq + i) * c->e + h * d + x] = (float)acc;
                }
            }
    ir_node n = kernel_node(OP_ATTENTION, c->mask == MASK_NONE ? 3 : 4);
    n.p.attention.heads = c->heads;
    n.p.attention.causal = c->causal;
    n.p.attention.scale = c->scale;
    int64_t qd[3] = { c->B, c->lq, c->e }, kd[3] = { c->B, c->lk, c->e }, md[2] = { c->lq, c->lk };
    infer_tensor in[4] = { tview(INFER_F32, q, 3, qd), tview(INFER_F32, k, 3, kd), tview(INFER_F32, v, 3, kd),
                           c->mask == MASK_BOOL ? tview(INFER_BOOL, maskb, 2, md) : tview(INFER_F32, maskf, 2, md) };
    infer_tensor out = tview(INFER_F32, y, 3, qd);
    size_t ws = cpu_attention_workspace(&n, in, &out, env->ctx.threads);
    free(env->workspace_owned);
    env->workspace_owned = malloc(ws + 1);
    env->ctx.workspace = env->workspace_owned;
    env->ctx.workspace_bytes = ws;
    infer_error err;
    cr_assert_eq(cpu_attention(&env->ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    double e;
    if (masked_row >= 0) {
        /* that row is NaN in every batch and head, like PyTorch; the rest matches */
        for (int64_t b = 0; b < c->B; b++)
            for (int64_t x = 0; x < c->e; x++) {
                int64_t at = (b * c->lq + masked_row) * c->e + x;
                cr_assert(isnan(y[at]), "fully masked row gives NaN");
                y[at] = ref[at] = 0.0f;
            }
    }
    e = rel_l2(y, ref, nq);
    free(q);
    free(k);
    free(v);
    free(maskf);
    free(maskb);
    free(y);
    free(ref);
    free(s);
    return e;
}

/* fp32 GEMMs (reordered sums) and expf (1 ulp): about 1e-7 observed. */
#define ATTN_TOL 1e-6

Test(attention, plain_causal_and_masks) {
    attn_env env = attn_env_make(1);
    attn_case cases[] = {
        { 2, 7, 13, 12, 3, 0, MASK_NONE, 0.0f },  { 2, 13, 13, 12, 3, 1, MASK_NONE, 0.0f },
        { 1, 7, 13, 8, 1, 1, MASK_NONE, 0.0f },   { 1, 13, 7, 8, 2, 1, MASK_NONE, 0.0f },
        { 2, 7, 13, 12, 3, 0, MASK_F32, 0.0f },   { 2, 7, 13, 12, 3, 0, MASK_BOOL, 0.0f },
        { 1, 13, 13, 12, 4, 1, MASK_F32, 0.3f },  { 1, 13, 13, 12, 4, 1, MASK_BOOL, 0.0f },
        { 3, 1, 1, 1, 1, 0, MASK_NONE, 0.0f },    { 1, 1, 127, 16, 2, 0, MASK_F32, 0.0f },
    };
    int best = env.ctx.isa;
    for (int isa = CPU_ISA_SCALAR; isa <= best; isa++) { /* every SIMD path of the exp and the GEMM */
        env.ctx.isa = isa;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            double e = run_attention(&env, &cases[i], -1, 10 + i);
            cr_assert(e <= ATTN_TOL, "isa %d case %zu: rel_l2 %g", isa, i, e);
        }
    }
    attn_env_free(&env);
}

Test(attention, large_heads_blocked_gemm) {
    attn_env env = attn_env_make(1);
    attn_case c = { 2, 127, 131, 256, 4, 1, MASK_F32, 0.0f };
    double e = run_attention(&env, &c, -1, 30);
    cr_assert(e <= ATTN_TOL, "rel_l2 %g", e);
    attn_env_free(&env);
}

Test(attention, parallel_heads_and_row_blocks) {
    attn_env env = attn_env_make(2);
    attn_case cases[] = {
        { 1, 127, 127, 32, 1, 1, MASK_NONE, 0.0f }, /* one (batch, head): split by rows */
        { 3, 33, 17, 64, 4, 0, MASK_BOOL, 0.0f },
        { 2, 64, 64, 128, 8, 1, MASK_F32, 0.125f },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double e = run_attention(&env, &cases[i], -1, 40 + i);
        cr_assert(e <= ATTN_TOL, "case %zu: rel_l2 %g", i, e);
    }
    attn_env_free(&env);
}

Test(attention, fully_masked_row_is_nan) {
    attn_env env = attn_env_make(1);
    attn_case c = { 2, 7, 13, 12, 3, 0, MASK_BOOL, 0.0f };
    int best = env.ctx.isa;
    for (int isa = CPU_ISA_SCALAR; isa <= best; isa++) {
        env.ctx.isa = isa;
        double e = run_attention(&env, &c, 4, 50);
        cr_assert(e <= ATTN_TOL, "isa %d, other rows: rel_l2 %g", isa, e);
    }
    attn_env_free(&env);
}

Test(attention, shape_and_workspace_errors) {
    attn_env env = attn_env_make(1);
    float buf[64] = { 1 };
    int64_t qd[3] = { 1, 2, 6 }, kd[3] = { 1, 3, 6 }, md[2] = { 3, 2 };
    ir_node n = kernel_node(OP_ATTENTION, 4);
    n.p.attention.heads = 4; /* 6 is not divisible by 4 */
    infer_tensor in[4] = { tview(INFER_F32, buf, 3, qd), tview(INFER_F32, buf, 3, kd), tview(INFER_F32, buf, 3, kd),
                           tview(INFER_F32, buf, 2, md) };
    infer_tensor out = tview(INFER_F32, buf, 3, qd);
    infer_error err;
    cr_assert_eq(cpu_attention(&env.ctx, &n, in, &out, &err), INFER_ERR_SHAPE);
    n.p.attention.heads = 2; /* mask is [3,2], not [2,3] */
    cr_assert_eq(cpu_attention(&env.ctx, &n, in, &out, &err), INFER_ERR_SHAPE);
    n.n_in = 3; /* no workspace given */
    cr_assert_eq(cpu_attention(&env.ctx, &n, in, &out, &err), INFER_ERR_INTERNAL);
    attn_env_free(&env);
}
