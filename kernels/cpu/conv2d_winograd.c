/* conv2d_winograd.c — FP32 3x3 stride-1 convolution by Winograd F(4x4, 3x3): weights transformed at engine build,
 * then per block of tiles the input transform, 36 GEMMs (one per transform point) and the output transform. */
#include <stdio.h>
#include <string.h>
#include "conv2d_winograd.h"
#include "gemm_internal.h"

/* F(4x4, 3x3) with the interpolation points 0, 1, -1, 2, -2 and infinity:
 *   input  V = Bᵀ d B, d a 6x6 patch;  weight U = G g Gᵀ, g the 3x3 kernel;  output Y = Aᵀ (U ⊙ V) A, 4x4.
 * Each transform is the same 1-D transform applied to the rows, then to the columns. */

/* Bᵀ on 6 values, x[k * step]. */
#define WINO_BT(x, step, out, ostep)                                                                              \
    do {                                                                                                          \
        float d0 = (x)[0], d1 = (x)[(step)], d2 = (x)[2 * (step)], d3 = (x)[3 * (step)], d4 = (x)[4 * (step)],   \
              d5 = (x)[5 * (step)];                                                                               \
        (out)[0] = 4.0f * d0 - 5.0f * d2 + d4;                                                                    \
        (out)[(ostep)] = -4.0f * (d1 + d2) + d3 + d4;                                                             \
        (out)[2 * (ostep)] = 4.0f * (d1 - d2) - d3 + d4;                                                          \
        (out)[3 * (ostep)] = 2.0f * (d3 - d1) - d2 + d4;                                                          \
        (out)[4 * (ostep)] = 2.0f * (d1 - d3) - d2 + d4;                                                          \
        (out)[5 * (ostep)] = 4.0f * d1 - 5.0f * d3 + d5;                                                          \
    } while (0)

/* Aᵀ on 6 values into 4. */
#define WINO_AT(x, step, out, ostep)                                                                              \
    do {                                                                                                          \
        float m0 = (x)[0], m1 = (x)[(step)], m2 = (x)[2 * (step)], m3 = (x)[3 * (step)], m4 = (x)[4 * (step)],   \
              m5 = (x)[5 * (step)];                                                                               \
        float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;                                         \
        (out)[0] = m0 + s12 + s34;                                                                                \
        (out)[(ostep)] = d12 + 2.0f * d34;                                                                        \
        (out)[2 * (ostep)] = s12 + 4.0f * s34;                                                                    \
        (out)[3 * (ostep)] = d12 + 8.0f * d34 + m5;                                                               \
    } while (0)

/* Blocks of tiles: V and one chunk of M per thread within about this many bytes (L2 is 2 MiB per core). */
#define WINO_BLOCK_BYTES ((size_t)3 << 19)
#define WINO_TILE_ALIGN 32 /* tiles per block: a multiple of every GEMM's column panel (8, 16, 32) */
#define WINO_MAX_TILES 128
#define WINO_OC_CHUNK 64   /* output channels per GEMM chunk when there are more than 2 chunks' worth */
#define WINO_MAGIC 0x57344b33u

/* The prepacked block: this header, then U as 36 matrices [out_channels, in_channels] (the GEMMs' A). */
typedef struct {
    uint32_t magic;
    int32_t in_channels, out_channels;
    int32_t forced;          /* winograd ON: at any batch; else (AUTO) im2col at runs of too few tiles */
    int32_t pad_[12];
} wino_header;

/* ---- which layers --------------------------------------------------------------------------------- */

static int geometry_allows(const conv_geometry *g) {
    return g->kernel_h == 3 && g->kernel_w == 3 && g->stride_h == 1 && g->stride_w == 1 && g->dilation_h == 1 &&
           g->dilation_w == 1 && g->groups == 1 && g->out_height == g->height + 2 * g->pad_h - 2 &&
           g->out_width == g->width + 2 * g->pad_w - 2 && g->channels > 0 && g->out_channels > 0 &&
           g->channels <= INT32_MAX && g->out_channels <= INT32_MAX;
}

/* AUTO: where bench/conv_bench measured Winograd faster than im2col on one and two threads (AVX-512): from 16
 * channels in and out and 32 tiles over the batch. With fewer tiles each of the 36 GEMMs streams its weight matrix
 * (4x the direct convolution's weights in all) for a handful of columns: 512->512 at 7x7 batch 1 (4 tiles) ran at
 * 0.3x im2col, 256->256 at 14x14 batch 1 (16 tiles) 0.6-1x; at 7x7 batch 8 (32 tiles) 1.2-1.6x. The batch is the
 * planned one at build and the run's at run time (an AUTO layer run at a smaller batch may take im2col). */
#define WINO_AUTO_MIN_CHANNELS 16
#define WINO_AUTO_MIN_TILES 32

static int64_t tile_count(const conv_geometry *g) {
    return g->batch * ((g->out_height + 3) / 4) * ((g->out_width + 3) / 4);
}

int conv_winograd_takes(const conv_geometry *g, infer_winograd mode) {
    if (mode == INFER_WINOGRAD_OFF || !geometry_allows(g)) return 0;
    if (mode == INFER_WINOGRAD_ON) return 1;
    return g->channels >= WINO_AUTO_MIN_CHANNELS && g->out_channels >= WINO_AUTO_MIN_CHANNELS &&
           tile_count(g) >= WINO_AUTO_MIN_TILES;
}

/* The geometry of node n from its input and weight views, for its FP32 constant weights. */
static int node_geometry(const ir_node *n, const infer_tensor *in, conv_geometry *g) {
    return n->n_in >= 2 && in[1].data && in[1].dtype == INFER_F32 && conv_geometry_of_inputs(n, in, g);
}

size_t conv_winograd_prepack_size(const ir_node *n, const infer_tensor *in, int isa, infer_winograd mode) {
    (void)isa;
    conv_geometry g;
    if (!node_geometry(n, in, &g) || !conv_winograd_takes(&g, mode)) return 0;
    if (g.out_channels > (int64_t)(SIZE_MAX / 4 / WINO_XI - 64) / g.channels) return 0;
    return sizeof(wino_header) + (size_t)(WINO_XI * g.out_channels * g.channels) * sizeof(float);
}

size_t cpu_conv2d_winograd_prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    return conv_winograd_prepack_size(n, in, isa, INFER_WINOGRAD_AUTO);
}

/* U = G g Gᵀ per (out, in) pair, in double, into matrix xi of dst. */
void cpu_conv2d_winograd_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    (void)isa;
    conv_geometry g;
    if (!node_geometry(n, in, &g)) return; /* prepack_size was 0 */
    wino_header *h = dst;
    memset(h, 0, sizeof *h);
    h->magic = WINO_MAGIC;
    h->in_channels = (int32_t)g.channels;
    h->out_channels = (int32_t)g.out_channels;
    float *u = (float *)(h + 1);
    const float *w = in[1].data;
    static const double G[6][3] = { { 1.0 / 4, 0, 0 },
                                    { -1.0 / 6, -1.0 / 6, -1.0 / 6 },
                                    { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
                                    { 1.0 / 24, 1.0 / 12, 1.0 / 6 },
                                    { 1.0 / 24, -1.0 / 12, 1.0 / 6 },
                                    { 0, 0, 1 } };
    int64_t pairs = g.out_channels * g.channels;
    for (int64_t o = 0; o < g.out_channels; o++)
        for (int64_t c = 0; c < g.channels; c++) {
            const float *k = w + (o * g.channels + c) * 9;
            double gk[6][3];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 3; j++) gk[i][j] = G[i][0] * k[j] + G[i][1] * k[3 + j] + G[i][2] * k[6 + j];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++)
                    u[(i * 6 + j) * pairs + o * g.channels + c] =
                        (float)(gk[i][0] * G[j][0] + gk[i][1] * G[j][1] + gk[i][2] * G[j][2]);
        }
}

void cpu_conv2d_winograd_describe(const void *packed, char *buf, size_t size) {
    (void)packed;
    snprintf(buf, size, "Winograd F(4x4,3x3)");
}

void conv_winograd_set_mode(void *packed, infer_winograd mode) {
    ((wino_header *)packed)->forced = mode == INFER_WINOGRAD_ON;
}

int conv_winograd_packed(const void *prepacked, const conv_geometry *g) {
    const wino_header *h = prepacked;
    return h && h->magic == WINO_MAGIC && h->in_channels == g->channels && h->out_channels == g->out_channels &&
           geometry_allows(g);
}

/* ---- blocks ------------------------------------------------------------------------------------------ */

static int64_t oc_chunk(const conv_geometry *g) {
    return g->out_channels <= 2 * WINO_OC_CHUNK ? g->out_channels : WINO_OC_CHUNK;
}

/* The most tiles per block: V [36, in, tiles] and one chunk of M [36, chunk, tiles] in WINO_BLOCK_BYTES. */
static int64_t max_tiles(const conv_geometry *g) {
    int64_t per_tile = (int64_t)(WINO_XI * sizeof(float)) * (g->channels + oc_chunk(g));
    int64_t t = (int64_t)WINO_BLOCK_BYTES / per_tile / WINO_TILE_ALIGN * WINO_TILE_ALIGN;
    return t < WINO_TILE_ALIGN ? WINO_TILE_ALIGN : t > WINO_MAX_TILES ? WINO_MAX_TILES : t;
}

static size_t thread_bytes(const conv_geometry *g) {
    int64_t tb = max_tiles(g);
    return (size_t)(WINO_XI * tb * (g->channels + oc_chunk(g))) * sizeof(float) + 64;
}

size_t conv_winograd_workspace(const conv_geometry *g, int threads) {
    if (!geometry_allows(g) || g->channels > (1 << 20) || g->out_channels > (1 << 20)) return 0;
    return thread_bytes(g) * (size_t)(threads > 0 ? threads : 1);
}

typedef struct {
    wino_plan plan;
    const float *u, *bias, *residual;
    act_params act;          /* relu or clip fused in the output transform, else none */
    float *y;
    cpu_ctx *ctx;
    int64_t tb, tb_max, splits, oc_step, chunk;
    wino_input_fn input;
    wino_output_fn output;
} wino_job;

/* Work item: tile block item / splits, output channels [split * oc_step, +oc_step) of it. */
static void block_task(void *arg, int64_t begin, int64_t end, int thread) {
    const wino_job *job = arg;
    const conv_geometry *g = job->plan.g;
    float *ws = (float *)(((uintptr_t)job->ctx->workspace + (size_t)thread * thread_bytes(g) + 63) & ~(uintptr_t)63);
    uint8_t *scratch = job->ctx->scratch + (size_t)thread * CPU_SCRATCH_BYTES;
    int64_t v_stride = job->tb_max * g->channels, m_stride = job->chunk * job->tb_max;
    float *v = ws, *m = ws + WINO_XI * v_stride;
    int64_t pairs = g->out_channels * g->channels;
    for (int64_t item = begin; item < end; item++) {
        int64_t block = item / job->splits, split = item % job->splits;
        int64_t t0 = block * job->tb, tn = job->plan.tiles - t0 < job->tb ? job->plan.tiles - t0 : job->tb;
        int64_t o_begin = split * job->oc_step;
        int64_t o_end = o_begin + job->oc_step < g->out_channels ? o_begin + job->oc_step : g->out_channels;
        if (o_begin >= o_end || tn <= 0) continue;
        job->input(&job->plan, t0, tn, v, v_stride);
        for (int64_t o0 = o_begin; o0 < o_end; o0 += job->chunk) {
            int64_t on = o_end - o0 < job->chunk ? o_end - o0 : job->chunk;
            for (int xi = 0; xi < WINO_XI; xi++)
                cpu_sgemm_packed_cols(scratch, job->ctx->isa, on, tn, g->channels, job->u + xi * pairs + o0 * g->channels,
                                      g->channels, v + xi * v_stride, m + xi * m_stride, job->tb_max, NULL, 0, tn);
            job->output(&job->plan, m, m_stride, job->tb_max, o0, on, t0, tn, job->bias, job->residual, &job->act,
                        job->y);
        }
    }
}

typedef struct {
    const act_params *act;
    float *y;
    int64_t plane;
    int isa;
} act_job;

static void act_task(void *arg, int64_t begin, int64_t end, int thread) {
    const act_job *aj = arg;
    (void)thread;
    float *y = aj->y + begin * aj->plane;
    int64_t count = (end - begin) * aj->plane;
    if (cpu_activation_isa(aj->isa, y, y, count, aj->act)) return;
    for (int64_t i = 0; i < count; i++) y[i] = act_apply(aj->act, y[i]);
}

/* Tiles per block for this many tiles over the threads: the least work per thread, a block costing about 16
 * tiles more than its tiles (its input transform's setup and the GEMMs' short edges). */
static int64_t block_tiles(int64_t tiles, int64_t tb_max, int threads) {
    int64_t best = WINO_LANES, best_cost = INT64_MAX;
    for (int64_t tb = WINO_LANES; tb <= tb_max; tb += WINO_LANES) {
        int64_t blocks = (tiles + tb - 1) / tb, rounds = (blocks + threads - 1) / threads;
        int64_t cost = rounds * (tb + 16);
        if (cost <= best_cost) {
            best_cost = cost;
            best = tb;
        }
        if (blocks == 1) break;
    }
    return best;
}

int conv2d_winograd(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *b, const float *residual,
                    const act_params *act, float *y) {
    if (!conv_winograd_packed(ctx->prepacked, g)) return 0;
    if (!((const wino_header *)ctx->prepacked)->forced && !conv_winograd_takes(g, INFER_WINOGRAD_AUTO)) return 0;
    int threads = ctx->threads > 0 ? ctx->threads : 1;
    if (!ctx->workspace || ctx->workspace_bytes < conv_winograd_workspace(g, threads)) return 0;
    if (g->batch * g->channels * g->height * g->width > INT32_MAX ||
        g->batch * g->out_channels * g->out_height * g->out_width > INT32_MAX)
        return 0; /* the AVX-512 transforms address with 32-bit offsets */
    int64_t tiles_h = (g->out_height + 3) / 4, tiles_w = (g->out_width + 3) / 4;
    int64_t tiles = g->batch * tiles_h * tiles_w;
    if (tiles == 0) return 1;
    wino_job job;
    memset(&job, 0, sizeof job);
    job.plan = (wino_plan){ g, x, tiles_w, tiles_h * tiles_w, tiles, cpu_sgemm_nr(ctx->isa) };
    job.u = (const float *)((const wino_header *)ctx->prepacked + 1);
    job.bias = b;
    job.residual = residual;
    int fused = act->kind == ACT_NONE || act->kind == ACT_RELU || act->kind == ACT_CLIP;
    job.act = fused ? *act : (act_params){ ACT_NONE, 0, 0 };
    job.y = y;
    job.ctx = ctx;
    job.tb_max = max_tiles(g);
    job.chunk = oc_chunk(g);
    job.tb = block_tiles(tiles, job.tb_max, threads);
    int64_t blocks = (tiles + job.tb - 1) / job.tb;
    job.splits = blocks < threads ? threads / blocks : 1; /* few tiles: the threads share the output channels */
    job.oc_step = (g->out_channels + job.splits - 1) / job.splits;
    job.oc_step = (job.oc_step + 7) / 8 * 8;
    job.input = conv_winograd_input_scalar;
    job.output = conv_winograd_output_scalar;
    if (ctx->isa == CPU_ISA_AVX512 && job.plan.nr % WINO_LANES == 0 && conv_winograd_input_avx512() &&
        conv_winograd_output_avx512()) {
        job.input = conv_winograd_input_avx512();
        job.output = conv_winograd_output_avx512();
    } else if (ctx->isa >= CPU_ISA_AVX2 && conv_winograd_input_avx2()) {
        job.input = conv_winograd_input_avx2();
        job.output = conv_winograd_output_avx2();
    }
    pool_parallel_for(ctx->pool, blocks * job.splits, 1, block_task, &job);
    if (!fused) {
        act_job aj = { act, y, g->out_height * g->out_width, ctx->isa };
        pool_parallel_for(ctx->pool, g->batch * g->out_channels, 16, act_task, &aj);
    }
    return 1;
}

/* ---- portable transforms: WINO_LANES tiles at a time, each lane one tile --------------------------------------
 * The bodies are compiled twice: as portable C (the scalar ISA) and with AVX2 + FMA (the loops over the lanes
 * vectorize), through the wrappers below. */

typedef struct {
    int64_t offset;          /* the image's first element */
    int64_t y0, x0;          /* the tile's first output row and column */
    int valid;
} lane_tile;

static void lane_tiles(const wino_plan *p, int64_t t0, int64_t count, int64_t image_elems, lane_tile *lt) {
    for (int l = 0; l < WINO_LANES; l++) {
        int64_t t = t0 + l, r = t % p->tiles_hw;
        lt[l].valid = l < count;
        lt[l].offset = l < count ? t / p->tiles_hw * image_elems : 0;
        lt[l].y0 = r / p->tiles_w * 4;
        lt[l].x0 = r % p->tiles_w * 4;
    }
}

static inline __attribute__((always_inline)) void input_body(const wino_plan *p, int64_t t0, int64_t tn, float *v,
                                                             int64_t v_stride) {
    const conv_geometry *g = p->g;
    int64_t hw = g->height * g->width, nr = p->nr;
    for (int64_t j0 = 0; j0 < tn; j0 += WINO_LANES) {
        lane_tile lt[WINO_LANES];
        lane_tiles(p, t0 + j0, tn - j0, g->channels * hw, lt);
        int inside[WINO_LANES]; /* the whole 6x6 patch inside the image: no bounds checks */
        for (int l = 0; l < WINO_LANES; l++) {
            int64_t iy = lt[l].y0 - g->pad_h, ix = lt[l].x0 - g->pad_w;
            inside[l] = lt[l].valid && iy >= 0 && iy + 6 <= g->height && ix >= 0 && ix + 6 <= g->width;
        }
        for (int64_t c = 0; c < g->channels; c++) {
            float d[WINO_XI][WINO_LANES], t[WINO_XI][WINO_LANES], u[WINO_XI][WINO_LANES];
            for (int l = 0; l < WINO_LANES; l++) {
                int64_t iy0 = lt[l].y0 - g->pad_h, ix0 = lt[l].x0 - g->pad_w;
                const float *src = p->x + lt[l].offset + c * hw;
                if (inside[l]) {
                    const float *s0 = src + iy0 * g->width + ix0;
                    for (int r = 0; r < 6; r++)
                        for (int q = 0; q < 6; q++) d[r * 6 + q][l] = s0[r * g->width + q];
                    continue;
                }
                for (int r = 0; r < 6; r++)
                    for (int q = 0; q < 6; q++) {
                        int64_t iy = iy0 + r, ix = ix0 + q;
                        int in = lt[l].valid && iy >= 0 && iy < g->height && ix >= 0 && ix < g->width;
                        d[r * 6 + q][l] = in ? src[iy * g->width + ix] : 0.0f;
                    }
            }
            for (int r = 0; r < 6; r++)
                for (int l = 0; l < WINO_LANES; l++) WINO_BT(&d[r * 6][l], WINO_LANES, &t[r * 6][l], WINO_LANES);
            for (int q = 0; q < 6; q++)
                for (int l = 0; l < WINO_LANES; l++) WINO_BT(&t[q][l], 6 * WINO_LANES, &u[q][l], 6 * WINO_LANES);
            for (int xi = 0; xi < WINO_XI; xi++)
                for (int l = 0; l < WINO_LANES; l++) {
                    int64_t j = j0 + l;
                    v[xi * v_stride + j / nr * g->channels * nr + c * nr + j % nr] = u[xi][l];
                }
        }
    }
}

static inline __attribute__((always_inline)) void output_body(const wino_plan *p, const float *m, int64_t m_stride,
                                                              int64_t ldm, int64_t o0, int64_t on, int64_t t0,
                                                              int64_t tn, const float *bias, const float *residual,
                                                              const act_params *act, float *y) {
    const conv_geometry *g = p->g;
    int64_t ohw = g->out_height * g->out_width;
    int relu = act->kind == ACT_RELU, clip = act->kind == ACT_CLIP;
    for (int64_t j0 = 0; j0 < tn; j0 += WINO_LANES) {
        lane_tile lt[WINO_LANES];
        lane_tiles(p, t0 + j0, tn - j0, g->out_channels * ohw, lt);
        int lanes = tn - j0 < WINO_LANES ? (int)(tn - j0) : WINO_LANES;
        for (int64_t o = o0; o < o0 + on; o++) {
            float mm[WINO_XI][WINO_LANES], s[24][WINO_LANES], out[16][WINO_LANES];
            for (int xi = 0; xi < WINO_XI; xi++)
                for (int l = 0; l < WINO_LANES; l++)
                    mm[xi][l] = l < lanes ? m[xi * m_stride + (o - o0) * ldm + j0 + l] : 0.0f;
            for (int q = 0; q < 6; q++) /* columns: s[i][q] */
                for (int l = 0; l < WINO_LANES; l++) WINO_AT(&mm[q][l], 6 * WINO_LANES, &s[q][l], 6 * WINO_LANES);
            for (int i = 0; i < 4; i++) /* rows */
                for (int l = 0; l < WINO_LANES; l++) WINO_AT(&s[i * 6][l], WINO_LANES, &out[i * 4][l], WINO_LANES);
            float bo = bias ? bias[o] : 0.0f;
            for (int l = 0; l < lanes; l++)
                for (int i = 0; i < 4; i++)
                    for (int k = 0; k < 4; k++) {
                        int64_t oy = lt[l].y0 + i, ox = lt[l].x0 + k;
                        if (oy >= g->out_height || ox >= g->out_width) continue;
                        int64_t at = lt[l].offset + o * ohw + oy * g->out_width + ox;
                        float val = out[i * 4 + k][l] + bo;
                        if (residual) val += residual[at];
                        if (relu) val = val > 0.0f ? val : 0.0f; /* as act_apply: NaN to 0 */
                        if (clip) val = val < act->min ? act->min : (val > act->max ? act->max : val);
                        y[at] = val;
                    }
        }
    }
}

void conv_winograd_input_scalar(const wino_plan *p, int64_t t0, int64_t tn, float *v, int64_t v_stride) {
    input_body(p, t0, tn, v, v_stride);
}

void conv_winograd_output_scalar(const wino_plan *p, const float *m, int64_t m_stride, int64_t ldm, int64_t o0,
                                 int64_t on, int64_t t0, int64_t tn, const float *bias, const float *residual,
                                 const act_params *act, float *y) {
    output_body(p, m, m_stride, ldm, o0, on, t0, tn, bias, residual, act, y);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void input_avx2(const wino_plan *p, int64_t t0, int64_t tn, float *v,
                                                           int64_t v_stride) {
    input_body(p, t0, tn, v, v_stride);
}

__attribute__((target("avx2,fma"))) static void output_avx2(const wino_plan *p, const float *m, int64_t m_stride,
                                                            int64_t ldm, int64_t o0, int64_t on, int64_t t0,
                                                            int64_t tn, const float *bias, const float *residual,
                                                            const act_params *act, float *y) {
    output_body(p, m, m_stride, ldm, o0, on, t0, tn, bias, residual, act, y);
}

wino_input_fn conv_winograd_input_avx2(void) { return input_avx2; }
wino_output_fn conv_winograd_output_avx2(void) { return output_avx2; }
#else
wino_input_fn conv_winograd_input_avx2(void) { return NULL; }
wino_output_fn conv_winograd_output_avx2(void) { return NULL; }
#endif

#if !defined(__x86_64__)
wino_input_fn conv_winograd_input_avx512(void) { return NULL; }
wino_output_fn conv_winograd_output_avx512(void) { return NULL; }
#endif
