/* recurrent_s8.c — lstm and gru with int8 weights (dynamic INT8): both projections on the dynamic INT8 linear,
 * rows quantized per row at run time, f32 gates and states; the loop over layers and steps is recurrent.c's. */
#include <stdio.h>
#include <string.h>
#include "recurrent.h"
#include "s8_layer.h"
#include "../../base/error.h"

/* One weight in the node's block: its row scales, then its GEMM panels. */
typedef struct {
    int32_t path;  /* the s8_path it is packed for */
    int64_t n, k;
    size_t gemm;   /* offset of the panels from this head */
} rnn_s8_weight;

/* The node's block: this head, then per layer and direction the rnn_s8_weight blocks of w_ih and w_hh. */
typedef struct {
    int32_t groups;
    size_t ih[IR_MAX_INPUTS], hh[IR_MAX_INPUTS]; /* offsets of the blocks from the head */
} rnn_s8_block;

/* A step's INT8 GEMM (B x G*H x H) splits over the pool from this many multiply-adds: the INT8 GEMM runs ~4x the
 * FP32 one, so 8x recurrent.c's FP32 threshold (an estimate: the loaded 2-core machine did not time it apart). */
#define RNN_S8_PARALLEL_MACS (1 << 20)

#define HEAD_BYTES ((sizeof(rnn_s8_block) + 63) & ~(size_t)63)
#define WEIGHT_HEAD ((sizeof(rnn_s8_weight) + 63) & ~(size_t)63)

static size_t round64(size_t x) { return (x + 63) & ~(size_t)63; }

size_t rnn_s8_workspace(int64_t rows, int64_t in_f, int64_t B, int64_t H) {
    if (rows < 0 || in_f < 0 || B < 0 || H < 0) return SIZE_MAX;
    size_t a = cpu_linear_s8_dynamic_workspace(rows, in_f), b = cpu_linear_s8_dynamic_workspace(B, H);
    return a > b ? a : b;
}

/* The INT8 path isa allows, but AVX-512 VNNI where that is AMX: w_hh's GEMM has B rows per step, and w_ih's T*B
 * are few in most sequence models, where AMX's 16-row tiles and per-call tile configuration cost more than they
 * save (measured: the golden lstm, hidden 64, spent 59% of its INT8 time in AMX calls of 8 rows). */
static int path_for(int isa) {
    int path = s8_path_for_isa(isa);
    if (path == S8_PATH_AMX && s8_path_supported(S8_PATH_AVX512_VNNI)) path = S8_PATH_AVX512_VNNI;
    return path;
}

/* Bytes of weight w's block (0: it is not int8 per channel along axis 0 with zero points 0, or too large). */
static size_t weight_bytes(const ir_graph *g, const ir_tensor *w, int isa) {
    if (!s8_weights_size(g, w, isa, 0, 1)) return 0; /* the storage checks of the INT8 linear */
    size_t panels = gemm_s8_packed_size(path_for(isa), w->dims[1], w->dims[0]);
    if (panels == SIZE_MAX || panels > SIZE_MAX / 4) return 0;
    return WEIGHT_HEAD + round64((size_t)w->dims[0] * sizeof(float)) + round64(panels);
}

static void weight_pack(const ir_graph *g, const ir_tensor *w, int isa, void *dst) {
    rnn_s8_weight *h = dst;
    memset(h, 0, sizeof *h);
    h->path = path_for(isa);
    h->n = w->dims[0];
    h->k = w->dims[1];
    h->gemm = WEIGHT_HEAD + round64((size_t)h->n * sizeof(float));
    memcpy((uint8_t *)dst + WEIGHT_HEAD, g->tensors[w->storage.aux[0]].data, (size_t)h->n * sizeof(float));
    gemm_s8_pack(h->path, h->k, h->n, w->data, h->k, (uint8_t *)dst + h->gemm);
}

/* The layout of the block (offsets into ih, hh); its bytes, 0 when a weight does not fit. */
static size_t layout(const rnn_kind *k, const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa,
                     size_t *ih, size_t *hh) {
    int first = 1 + k->n_states, groups = (n->n_in - first) / 4;
    const lstm_params *p = k->n_states == 2 ? &n->p.lstm : &n->p.gru;
    if (in[0].ndim != 3 || groups < 1 || groups > IR_MAX_INPUTS || n->n_in != first + 4 * groups ||
        groups != p->layers * (p->bidirectional ? 2 : 1))
        return 0;
    size_t total = HEAD_BYTES;
    for (int grp = 0; grp < groups; grp++) {
        for (int w = 0; w < 2; w++) {
            int t = n->in[first + 4 * grp + w];
            if (t == IR_NONE) return 0;
            const ir_tensor *wt = &g->tensors[t];
            size_t bytes = wt->ndim == 2 && wt->dims[0] == k->gates * p->hidden ? weight_bytes(g, wt, isa) : 0;
            if (!bytes || bytes > SIZE_MAX / 4 - total) return 0;
            (w ? hh : ih)[grp] = total;
            total += bytes;
        }
    }
    return total;
}

size_t rnn_s8_pack_size(const rnn_kind *k, const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa) {
    size_t ih[IR_MAX_INPUTS], hh[IR_MAX_INPUTS];
    return layout(k, g, n, in, isa, ih, hh);
}

void rnn_s8_pack(const rnn_kind *k, const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    rnn_s8_block *h = dst;
    memset(h, 0, sizeof *h);
    if (!layout(k, g, n, in, isa, h->ih, h->hh)) return;
    int first = 1 + k->n_states;
    h->groups = (n->n_in - first) / 4;
    for (int grp = 0; grp < h->groups; grp++) {
        weight_pack(g, &g->tensors[n->in[first + 4 * grp]], isa, (uint8_t *)dst + h->ih[grp]);
        weight_pack(g, &g->tensors[n->in[first + 4 * grp + 1]], isa, (uint8_t *)dst + h->hh[grp]);
    }
}

void rnn_s8_describe(const void *packed, char *buf, size_t size) {
    const rnn_s8_block *h = packed;
    if (h->groups < 1) {
        snprintf(buf, size, "int8 per-channel, dynamic");
        return;
    }
    const rnn_s8_weight *ih = (const rnn_s8_weight *)((const uint8_t *)packed + h->ih[0]);
    const rnn_s8_weight *hh = (const rnn_s8_weight *)((const uint8_t *)packed + h->hh[0]);
    snprintf(buf, size, "int8 per-channel, dynamic, %s (w_ih), %s (w_hh), %d layer-directions", s8_path_name(ih->path),
             s8_path_name(hh->path), (int)h->groups);
}

infer_status rnn_s8_missing(const rnn_kind *k, const ir_node *n, infer_error *err) {
    return infer_fail(err, INFER_ERR_UNSUPPORTED,
                      "%s '%s': the int8 weights were not prepared at engine build: every w_ih and w_hh must be int8 "
                      "per channel along axis 0 with zero points 0, at most %d values per row (or memory ran out)",
                      k->name, n->name, GEMM_S8_K_MAX);
}

static const rnn_s8_weight *weight_at(const void *s8, size_t offset) {
    return (const rnn_s8_weight *)((const uint8_t *)s8 + offset);
}
static const float *scales_of(const rnn_s8_weight *w) { return (const float *)((const uint8_t *)w + WEIGHT_HEAD); }
static const void *panels_of(const rnn_s8_weight *w) { return (const uint8_t *)w + w->gemm; }

void rnn_s8_input_projection(cpu_ctx *ctx, const void *s8, int group, int64_t rows, const float *x, int64_t in_f,
                             const float *bias, float *xp, int64_t ld_xp, void *row_buffers) {
    const rnn_s8_weight *w = weight_at(s8, ((const rnn_s8_block *)s8)->ih[group]);
    act_params none = { ACT_NONE, 0, 0 };
    if (rows > 0)
        cpu_linear_s8_dynamic(ctx, rows, x, in_f, panels_of(w), scales_of(w), bias, &none, xp, ld_xp, row_buffers);
}

/* The gate math of one step for hidden units [chunk begin, end) x nr (LSTM: hh += x first). */
typedef struct {
    const rnn_kind *kind;
    int isa, nr;
    const rnn_step_io *io;
} cells_args;

static void cells_task(void *arg, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const cells_args *a = arg;
    const rnn_step_io *io = a->io;
    int64_t H = io->H, j0 = begin * a->nr, j1 = end * a->nr < H ? end * a->nr : H;
    if (io->hh && !a->kind->hh_bias) { /* (locals: -fno-strict-aliasing would reload io's fields per element) */
        int64_t B = io->B, ld_hh = io->ld_hh, ld_x = io->ld_x, gates = a->kind->gates;
        const float *restrict x = io->x;
        for (int64_t b = 0; b < B; b++)
            for (int64_t q = 0; q < gates; q++) {
                float *restrict dst = (float *)io->hh + b * ld_hh + q * H;
                const float *restrict src = x + b * ld_x + q * H;
                for (int64_t j = j0; j < j1; j++) dst[j] += src[j];
            }
    }
    a->kind->cell(a->isa, io, j0, j1);
}

void rnn_s8_step(cpu_ctx *ctx, const void *s8, int group, const rnn_kind *k, const rnn_step_io *io, const float *b_hh,
                 float *hh, int64_t chunks, int nr, void *row_buffers) {
    rnn_step_io step = *io;
    int64_t GH = k->gates * io->H;
    if (io->h_prev) {
        const rnn_s8_weight *w = weight_at(s8, ((const rnn_s8_block *)s8)->hh[group]);
        act_params none = { ACT_NONE, 0, 0 };
        cpu_ctx one = *ctx; /* a small step's GEMM in the calling thread: a dispatch costs more than it saves */
        if (chunks <= 1 || io->B * GH * io->H < RNN_S8_PARALLEL_MACS) one.pool = NULL, one.threads = 1;
        cpu_linear_s8_dynamic(&one, io->B, io->h_prev, io->ld_prev, panels_of(w), scales_of(w), k->hh_bias ? b_hh : NULL,
                              &none, hh, GH, row_buffers);
        step.hh = hh;
        step.ld_hh = GH;
    }
    cells_args a = { k, ctx->isa, chunks > 1 ? nr : (int)(io->H > 0 ? io->H : 1), &step };
    if (chunks > 1) pool_parallel_for(ctx->pool, chunks, 1, cells_task, &a);
    else cells_task(&a, 0, 1, 0);
}
