/* attention.c — multi-head scaled dot-product attention: per (batch, head, row block) GEMMs and a masked softmax. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "cpu_kernels.h"
#include "vexp.h"
#include "../../base/error.h"

#define ATTN_MIN_ROWS 16 /* rows of a (batch, head) split further to keep every thread busy */

typedef struct {
    const float *q, *k, *v;
    float *y;
    const float *mask_add;   /* [Lq, Lk] (per batch: [B, Lq, Lk]) added to the scores, or NULL */
    const uint8_t *mask_out; /* [Lq, Lk] (per batch: [B, Lq, Lk]) true = masked out, or NULL */
    int64_t mask_stride;     /* elements from one batch's mask to the next; 0: one mask for all */
    int64_t lq, lk, e, d;
    int heads, causal, isa;
    float scale;
    int64_t row_block, blocks; /* rows per unit, units per (batch, head) */
    float *workspace;          /* lq * lk floats per thread */
    uint8_t *scratch;          /* CPU_SCRATCH_BYTES per thread */
} attention_args;

/* Row i of the scores: scale, mask, then a max-subtracted softmax. All masked gives NaN, like PyTorch. */
static void softmax_scores(const attention_args *A, float *s, int64_t b, int64_t i) {
    int64_t lk = A->lk, visible = A->causal && i + 1 < lk ? i + 1 : lk; /* causal: j > i is masked */
    const float scale = A->scale;
    for (int64_t j = 0; j < visible; j++) s[j] *= scale;
    if (A->mask_add) {
        const float *add = A->mask_add + b * A->mask_stride + i * lk;
        for (int64_t j = 0; j < visible; j++) s[j] += add[j];
    }
    if (A->mask_out) {
        const uint8_t *out = A->mask_out + b * A->mask_stride + i * lk;
        for (int64_t j = 0; j < visible; j++) s[j] = out[j] ? -INFINITY : s[j];
    }
    float m = vexp_row_max(A->isa, s, visible);
    float inv = (float)(1.0 / vexp_row(A->isa, s, s, visible, m));
    for (int64_t j = 0; j < visible; j++) s[j] *= inv;
    for (int64_t j = visible; j < lk; j++) s[j] = 0.0f;
}

static void attention_units(void *arg, int64_t begin, int64_t end, int thread) {
    const attention_args *A = arg;
    float *scores = A->workspace + (size_t)thread * (size_t)(A->lq * A->lk);
    uint8_t *scratch = A->scratch + (size_t)thread * CPU_SCRATCH_BYTES;
    for (int64_t u = begin; u < end; u++) {
        int64_t bh = u / A->blocks, b = bh / A->heads, h = bh % A->heads;
        int64_t i0 = (u % A->blocks) * A->row_block;
        int64_t rows = A->lq - i0 < A->row_block ? A->lq - i0 : A->row_block;
        const float *q = A->q + (b * A->lq + i0) * A->e + h * A->d;
        const float *k = A->k + b * A->lk * A->e + h * A->d, *v = A->v + b * A->lk * A->e + h * A->d;
        float *y = A->y + (b * A->lq + i0) * A->e + h * A->d;
        cpu_sgemm_serial(scratch, A->isa, 0, 1, rows, A->lk, A->d, q, A->e, k, A->e, scores, A->lk, NULL);
        for (int64_t i = 0; i < rows; i++) softmax_scores(A, scores + i * A->lk, b, i0 + i);
        cpu_sgemm_serial(scratch, A->isa, 0, 0, rows, A->d, A->lk, scores, A->lk, v, A->e, y, A->e, NULL);
    }
}

/* threads x Lq x Lk scores; SIZE_MAX when that overflows or exceeds PTRDIFF_MAX (no allocation can satisfy
 * it; rounding it up cannot wrap). */
size_t cpu_attention_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    if (in[0].ndim != 3 || in[1].ndim != 3) return 0;
    if (threads < 1 || in[0].dims[1] < 0 || in[1].dims[1] < 0) return SIZE_MAX;
    size_t bytes;
    if (__builtin_mul_overflow((size_t)threads, (size_t)in[0].dims[1], &bytes) ||
        __builtin_mul_overflow(bytes, (size_t)in[1].dims[1], &bytes) ||
        __builtin_mul_overflow(bytes, sizeof(float), &bytes) || bytes > PTRDIFF_MAX)
        return SIZE_MAX;
    return bytes;
}

CPU_KERNEL(attention) {
    const attention_params *p = &n->p.attention;
    const infer_tensor *q = &in[0], *k = &in[1], *v = &in[2];
    const infer_tensor *mask = n->n_in > 3 && in[3].data ? &in[3] : NULL;
    if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3 || k->dims[0] != q->dims[0] || v->dims[0] != q->dims[0] ||
        v->dims[1] != k->dims[1] || k->dims[2] != q->dims[2] || v->dims[2] != q->dims[2] || p->heads < 1 ||
        q->dims[2] % p->heads || out[0].ndim != 3 || memcmp(out[0].dims, q->dims, 3 * sizeof *q->dims))
        return infer_fail(err, INFER_ERR_SHAPE, "attention: q, k, v, y must be [B,Lq,E], [B,Lk,E], [B,Lk,E], [B,Lq,E] "
                          "with E divisible by %d heads", p->heads);
    if (q->dtype != INFER_F32 || k->dtype != INFER_F32 || v->dtype != INFER_F32 || out[0].dtype != INFER_F32)
        return infer_fail(err, INFER_ERR_DTYPE, "attention: q, k, v and y must be f32");
    int64_t B = q->dims[0], lq = q->dims[1], lk = k->dims[1], e = q->dims[2];
    if (mask && (mask->ndim < 2 || mask->ndim > 3 || (mask->ndim == 3 && mask->dims[0] != 1 && mask->dims[0] != B) ||
                 mask->dims[mask->ndim - 2] != lq || mask->dims[mask->ndim - 1] != lk ||
                 (mask->dtype != INFER_F32 && mask->dtype != INFER_BOOL)))
        return infer_fail(err, INFER_ERR_SHAPE, "attention: mask must be f32 or bool [%lld,%lld] or [%lld,%lld,%lld]",
                          (long long)lq, (long long)lk, (long long)B, (long long)lq, (long long)lk);
    size_t need = cpu_attention_workspace(n, in, out, ctx->threads);
    if (need == SIZE_MAX || ctx->workspace_bytes < need || !ctx->scratch)
        return infer_fail(err, INFER_ERR_INTERNAL, "attention: workspace of %zu bytes, %zu needed", ctx->workspace_bytes,
                          need);
    if (B * lq * e == 0) return INFER_OK;
    attention_args A = {
        .q = q->data, .k = k->data, .v = v->data, .y = out[0].data,
        .mask_add = mask && mask->dtype == INFER_F32 ? mask->data : NULL,
        .mask_out = mask && mask->dtype == INFER_BOOL ? mask->data : NULL,
        .mask_stride = mask && mask->ndim == 3 && mask->dims[0] != 1 ? lq * lk : 0,
        .lq = lq, .lk = lk, .e = e, .d = e / p->heads, .heads = p->heads, .causal = p->causal, .isa = ctx->isa,
        .scale = p->scale != 0.0f ? p->scale : (float)(1.0 / sqrt((double)(e / p->heads))),
        .workspace = ctx->workspace, .scratch = ctx->scratch,
    };
    /* Enough units for every thread: split each (batch, head) into row blocks when there are few. */
    int64_t pairs = B * p->heads, want = (2 * ctx->threads + pairs - 1) / pairs;
    int64_t max_blocks = (lq + ATTN_MIN_ROWS - 1) / ATTN_MIN_ROWS;
    A.blocks = want < max_blocks ? want : max_blocks;
    if (A.blocks < 1) A.blocks = 1;
    A.row_block = (lq + A.blocks - 1) / A.blocks;
    A.blocks = (lq + A.row_block - 1) / A.row_block;
    if (lk == 0) { /* no keys: every row fully masked */
        for (int64_t i = 0; i < B * lq * e; i++) A.y[i] = NAN;
        return INFER_OK;
    }
    /* per-thread buffers exist for ctx->threads threads: a larger pool would overrun them */
    thread_pool *pool = pool_size(ctx->pool) <= ctx->threads ? ctx->pool : NULL;
    pool_parallel_for(pool, pairs * A.blocks, 1, attention_units, &A);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_attention[] = {
    { .storages = CPU_DENSE, .run = cpu_attention, .workspace = cpu_attention_workspace },
    { 0 },
};
