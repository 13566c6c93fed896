/* cuda_node.c — planning and running one graph node on the GPU: the op-by-op dispatch to kernels, cuBLASLt and cuDNN. */
#include <stdlib.h>
#include <string.h>
#include "cuda_ctx.h"
#include "cuda_check.h"
#include "cuda_conv.h"
#include "cuda_gemm.h"
#include "../half.h"
#include "../../kernels/cuda/cuda_kernels.h"

enum { MM_SINGLE = 0, MM_LOOP = 1 };

struct cuda_node_plan {
    op_code op;
    size_t scratch;
    cuda_gemm gemm;          /* linear, matmul */
    int mm_mode;             /* matmul: one (strided or folded) GEMM, or one GEMM per broadcast batch */
    cuda_conv conv;
    cuda_gemm *lstm;         /* per layer: the input projection */
    int lstm_layers;
};

static int64_t numel(const infer_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}
static size_t esize(const infer_tensor *t) { return infer_dtype_size(t->dtype); }
static int is_half(const infer_tensor *t) { return t->dtype == INFER_F16; }
static int norm_axis(int axis, int ndim) { return axis < 0 ? axis + ndim : axis; }
static int64_t prod(const int64_t *d, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= d[i];
    return p;
}
static size_t round256(size_t n) { return (n + 255) & ~(size_t)255; }

void cuda_node_plan_free(cuda_node_plan *p) {
    if (!p) return;
    cuda_gemm_destroy(&p->gemm);
    cuda_conv_destroy(&p->conv);
    for (int l = 0; l < p->lstm_layers; l++) cuda_gemm_destroy(&p->lstm[l]);
    free(p->lstm);
    free(p);
}

size_t cuda_node_scratch(const cuda_node_plan *p) { return p ? p->scratch : 0; }

int cuda_node_force_gemmex(cuda_ctx *c, cuda_node_plan *p) {
    if (!p || (p->op != OP_LINEAR && p->op != OP_MATMUL && p->op != OP_LSTM)) return 0;
    infer_error err;
    if (cuda_ctx_blas(c, &err) != INFER_OK) return 0;
    int n = 0;
    cuda_gemm *gs = p->op == OP_LSTM ? p->lstm : &p->gemm;
    for (int i = 0; i < (p->op == OP_LSTM ? p->lstm_layers : 1); i++, n++) {
        gs[i].gemmex = 1;
        gs[i].fused_act = gs[i].fused_bias = 0;
    }
    return n > 0;
}

int cuda_node_refuse_fused(cuda_node_plan *p) {
    if (!p || p->op != OP_CONV2D || !p->conv.fused) return 0;
    p->conv.refuse_fused = 1;
    p->conv.validated = 0;
    return 1;
}

/* ---- matmul: batch dims broadcast as in torch.matmul ------------------------------------------ */

typedef struct {
    int64_t M, N, K, ba, bb, bo; /* batch products of a, b and the output */
    cuda_bcast bc;               /* output batch index -> a / b matrix index */
} mm_shape;

static int mm_shape_of(const infer_tensor *a, const infer_tensor *b, const infer_tensor *y, mm_shape *s) {
    s->M = a->dims[a->ndim - 2], s->K = a->dims[a->ndim - 1], s->N = b->dims[b->ndim - 1];
    s->ba = prod(a->dims, 0, a->ndim - 2);
    s->bb = prod(b->dims, 0, b->ndim - 2);
    s->bo = prod(y->dims, 0, y->ndim - 2);
    int nd[2] = { a->ndim - 2, b->ndim - 2 };
    int64_t dims[2][INFER_MAX_DIMS];
    memset(dims, 0, sizeof dims);
    memcpy(dims[0], a->dims, (size_t)nd[0] * sizeof(int64_t));
    memcpy(dims[1], b->dims, (size_t)nd[1] * sizeof(int64_t));
    return cuda_bcast_build(&s->bc, y->ndim - 2, y->dims, 2, nd, (const int64_t (*)[INFER_MAX_DIMS])dims);
}

static infer_status prepare_matmul(cuda_ctx *c, cuda_node_plan *p, const infer_tensor *in, const infer_tensor *out,
                                   infer_error *err) {
    mm_shape s;
    if (!mm_shape_of(&in[0], &in[1], &out[0], &s))
        return infer_fail(err, INFER_ERR_SHAPE, "matmul: batch dims do not broadcast");
    size_t es = esize(&out[0]);
    cuda_gemm_desc d;
    memset(&d, 0, sizeof d);
    d.N = s.N, d.K = s.K, d.batch = 1;
    d.align_a = d.align_b = d.align_c = 256;
    if (s.bb == 1 && s.ba == s.bo) { /* b shared: fold a's batch into M */
        p->mm_mode = MM_SINGLE;
        d.M = s.ba * s.M;
    } else if (s.ba == s.bo && s.bb == s.bo) { /* same batch dims: strided batched */
        p->mm_mode = MM_SINGLE;
        d.M = s.M, d.batch = s.bo;
        d.stride_a = s.M * s.K, d.stride_b = s.K * s.N, d.stride_c = s.M * s.N;
        d.align_a = cuda_align_of((uint64_t)d.stride_a * es);
        d.align_b = cuda_align_of((uint64_t)d.stride_b * es);
        d.align_c = cuda_align_of((uint64_t)d.stride_c * es);
    } else if (s.ba == 1 && s.bb == s.bo) { /* a shared: strided batched with a's stride 0 */
        p->mm_mode = MM_SINGLE;
        d.M = s.M, d.batch = s.bo;
        d.stride_a = 0, d.stride_b = s.K * s.N, d.stride_c = s.M * s.N;
        d.align_b = cuda_align_of((uint64_t)d.stride_b * es);
        d.align_c = cuda_align_of((uint64_t)d.stride_c * es);
    } else { /* general broadcast: one GEMM per output matrix */
        p->mm_mode = MM_LOOP;
        d.M = s.M;
        d.align_a = cuda_align_of((uint64_t)(s.M * s.K) * es);
        d.align_b = cuda_align_of((uint64_t)(s.K * s.N) * es);
        d.align_c = cuda_align_of((uint64_t)(s.M * s.N) * es);
    }
    d.act.kind = ACT_NONE;
    return cuda_gemm_prepare(c, &p->gemm, &d, err);
}

static infer_status run_matmul(cuda_ctx *c, cuda_node_plan *p, const infer_tensor *in, const infer_tensor *out,
                               int tune, infer_error *err) {
    if (p->mm_mode == MM_SINGLE)
        return tune ? cuda_gemm_tune(c, &p->gemm, in[0].data, in[1].data, out[0].data, NULL, NULL, err)
                    : cuda_gemm_run(c, &p->gemm, in[0].data, in[1].data, out[0].data, NULL, NULL, err);
    mm_shape s;
    if (!mm_shape_of(&in[0], &in[1], &out[0], &s)) return infer_fail(err, INFER_ERR_SHAPE, "matmul: batch dims");
    size_t es = esize(&out[0]);
    if (tune) return cuda_gemm_tune(c, &p->gemm, in[0].data, in[1].data, out[0].data, NULL, NULL, err);
    for (int64_t o = 0; o < s.bo; o++) {
        int64_t rem = o, ia = 0, ib = 0;
        for (int d = s.bc.ndim - 1; d >= 0; d--) {
            int64_t idx = rem % s.bc.dims[d];
            rem /= s.bc.dims[d];
            ia += idx * s.bc.st[0][d];
            ib += idx * s.bc.st[1][d];
        }
        INFER_TRY(cuda_gemm_run(c, &p->gemm, (const char *)in[0].data + (size_t)(ia * s.M * s.K) * es,
                                (const char *)in[1].data + (size_t)(ib * s.K * s.N) * es,
                                (char *)out[0].data + (size_t)(o * s.M * s.N) * es, NULL, NULL, err));
    }
    return INFER_OK;
}

/* ---- LSTM: cuBLASLt input projections for all steps, then one fused kernel per step ------------ */

typedef struct {
    int64_t T, B, H, L, per;
    int batch_first;
} lstm_shape;

static lstm_shape lstm_shape_of(const ir_node *n, const infer_tensor *in) {
    lstm_shape s;
    s.batch_first = n->p.lstm.batch_first;
    s.B = s.batch_first ? in[0].dims[0] : in[0].dims[1];
    s.T = s.batch_first ? in[0].dims[1] : in[0].dims[0];
    s.H = n->p.lstm.hidden;
    s.L = n->p.lstm.layers;
    s.per = (n->n_in - 3) / (s.L > 0 ? s.L : 1);
    return s;
}

static infer_status prepare_lstm(cuda_ctx *c, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                 infer_error *err) {
    lstm_shape s = lstm_shape_of(n, in);
    size_t es = esize(&in[0]);
    p->lstm = calloc((size_t)s.L, sizeof *p->lstm);
    if (!p->lstm) return infer_fail(err, INFER_ERR_MEMORY, "out of memory planning an LSTM");
    p->lstm_layers = (int)s.L;
    for (int64_t l = 0; l < s.L; l++) {
        const infer_tensor *w_ih = &in[3 + l * s.per];
        cuda_gemm_desc d;
        memset(&d, 0, sizeof d);
        d.M = s.T * s.B, d.N = 4 * s.H, d.K = w_ih->dims[1], d.trans_b = 1, d.batch = 1;
        d.align_a = d.align_b = d.align_c = 256;
        INFER_TRY(cuda_gemm_prepare(c, &p->lstm[l], &d, err));
    }
    size_t g_bytes = round256((size_t)(s.T * s.B * 4 * s.H) * es);
    size_t y_bytes = s.L > 1 ? round256((size_t)(s.T * s.B * s.H) * es) : 0;
    size_t c_bytes = round256((size_t)(s.B * s.H) * es); /* the cell state when c_n has no storage */
    p->scratch = g_bytes + y_bytes + c_bytes;
    return INFER_OK;
}

static infer_status run_lstm(cuda_ctx *c, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                             const infer_tensor *out, int tune, infer_error *err) {
    lstm_shape s = lstm_shape_of(n, in);
    size_t es = esize(&in[0]);
    int half = is_half(&in[0]);
    if (p->scratch > c->scratch_bytes)
        return infer_fail(err, INFER_ERR_INTERNAL, "LSTM needs %zu bytes of scratch, %zu allocated", p->scratch,
                          c->scratch_bytes);
    char *G = (char *)c->scratch;
    char *inter = G + round256((size_t)(s.T * s.B * 4 * s.H) * es);
    char *cspare = inter + (s.L > 1 ? round256((size_t)(s.T * s.B * s.H) * es) : 0);
    const infer_tensor *h0 = &in[1], *c0 = &in[2];
    /* element strides: row of batch b at time t */
    int64_t row_t = s.batch_first ? 1 : s.B, row_b = s.batch_first ? s.T : 1;
    for (int64_t l = 0; l < s.L; l++) {
        const infer_tensor *w_ih = &in[3 + l * s.per], *w_hh = &in[4 + l * s.per];
        const void *b_ih = s.per == 4 ? in[5 + l * s.per].data : NULL;
        const void *b_hh = s.per == 4 ? in[6 + l * s.per].data : NULL;
        const void *x = l == 0 ? in[0].data : inter;
        if (tune) {
            INFER_TRY(cuda_gemm_tune(c, &p->lstm[l], x, w_ih->data, G, NULL, NULL, err));
            continue;
        }
        INFER_TRY(cuda_gemm_run(c, &p->lstm[l], x, w_ih->data, G, NULL, NULL, err));
        char *y = l == s.L - 1 ? (char *)out[0].data : inter;
        char *cst = out[2].data ? (char *)out[2].data + (size_t)(l * s.B * s.H) * es : cspare;
        size_t state_bytes = (size_t)(s.B * s.H) * es;
        if (c0->data) CUDA_CHECK(cudaMemcpyAsync(cst, (const char *)c0->data + (size_t)l * state_bytes, state_bytes,
                                                 cudaMemcpyDeviceToDevice, c->stream));
        else CUDA_CHECK(cudaMemsetAsync(cst, 0, state_bytes, c->stream));
        for (int64_t t = 0; t < s.T; t++) {
            const char *hp;
            int64_t hp_stride;
            if (t == 0) {
                hp = h0->data ? (const char *)h0->data + (size_t)l * state_bytes : NULL;
                hp_stride = s.H;
            } else {
                hp = y + (size_t)((t - 1) * row_t * s.H) * es;
                hp_stride = row_b * s.H;
            }
            INFER_TRY(cuda_lstm_step(c->stream, half, G + (size_t)(t * row_t * 4 * s.H) * es, row_b * 4 * s.H,
                                     w_hh->data, b_ih, b_hh, hp, hp_stride, cst, y + (size_t)(t * row_t * s.H) * es,
                                     row_b * s.H, s.B, s.H, err));
        }
        if (out[1].data) { /* h_n[l] = h at the last step */
            char *hn = (char *)out[1].data + (size_t)l * state_bytes;
            if (s.T > 0)
                CUDA_CHECK(cudaMemcpy2DAsync(hn, (size_t)s.H * es, y + (size_t)((s.T - 1) * row_t * s.H) * es,
                                             (size_t)(row_b * s.H) * es, (size_t)s.H * es, (size_t)s.B,
                                             cudaMemcpyDeviceToDevice, c->stream));
            else if (h0->data)
                CUDA_CHECK(cudaMemcpyAsync(hn, (const char *)h0->data + (size_t)l * state_bytes, state_bytes,
                                           cudaMemcpyDeviceToDevice, c->stream));
            else
                CUDA_CHECK(cudaMemsetAsync(hn, 0, state_bytes, c->stream));
        }
    }
    return INFER_OK;
}

/* ---- the dispatch ------------------------------------------------------------------------------ */

infer_status cuda_node_prepare(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                               cuda_node_plan **plan, infer_error *err) {
    *plan = NULL;
    if (n->op != OP_LINEAR && n->op != OP_MATMUL && n->op != OP_CONV2D && n->op != OP_LSTM) return INFER_OK;
    cuda_node_plan *p = calloc(1, sizeof *p);
    if (!p) return infer_fail(err, INFER_ERR_MEMORY, "out of memory planning a node");
    p->op = n->op;
    infer_status s = INFER_OK;
    switch (n->op) {
    case OP_LINEAR: {
        const infer_tensor *x = &in[0], *w = &in[1];
        cuda_gemm_desc d;
        memset(&d, 0, sizeof d);
        d.K = x->dims[x->ndim - 1];
        d.M = numel(x) / (d.K ? d.K : 1);
        if (d.K == 0) d.M = prod(x->dims, 0, x->ndim - 1);
        d.N = w->dims[0];
        d.trans_b = 1, d.batch = 1;
        /* before allocation the data pointers are NULL: presence comes from the node */
        d.has_bias = n->n_in > 2 && n->in[2] != IR_NONE;
        d.has_residual = n->n_in > 3 && n->in[3] != IR_NONE;
        d.act = n->p.linear.act;
        d.align_a = d.align_b = d.align_c = 256;
        s = cuda_gemm_prepare(c, &p->gemm, &d, err);
        break;
    }
    case OP_MATMUL: s = prepare_matmul(c, p, in, out, err); break;
    case OP_CONV2D: {
        int has_bias = n->n_in > 2 && n->in[2] != IR_NONE, has_res = n->n_in > 3 && n->in[3] != IR_NONE;
        s = cuda_conv_prepare(c, &p->conv, &in[0], &in[1], &out[0], has_bias, has_res, &n->p.conv2d, c->scratch_bytes,
                              err);
        p->scratch = cuda_conv_workspace(&p->conv);
        break;
    }
    case OP_LSTM: s = prepare_lstm(c, n, p, in, err); break;
    default: break;
    }
    if (s != INFER_OK) {
        cuda_node_plan_free(p);
        return s;
    }
    *plan = p;
    return INFER_OK;
}

infer_status cuda_node_tune(cuda_ctx *c, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                            const infer_tensor *out, infer_error *err) {
    if (!p) return INFER_OK;
    switch (n->op) {
    case OP_LINEAR:
        return cuda_gemm_tune(c, &p->gemm, in[0].data, in[1].data, out[0].data, n->n_in > 2 ? in[2].data : NULL,
                              n->n_in > 3 ? in[3].data : NULL, err);
    case OP_MATMUL: return run_matmul(c, p, in, out, 1, err);
    case OP_CONV2D: {
        infer_status s = cuda_conv_tune(c, &p->conv, in[0].data, in[1].data, out[0].data, err);
        p->scratch = cuda_conv_workspace(&p->conv); /* the tuned choice may want more than the heuristic's */
        return s;
    }
    case OP_LSTM: return run_lstm(c, n, p, in, out, 1, err);
    default: return INFER_OK;
    }
}

static int bcast_of(cuda_bcast *bc, const infer_tensor *y, int n_in, const infer_tensor *const *xs) {
    int nd[CUDA_BCAST_MAX_IN];
    int64_t dims[CUDA_BCAST_MAX_IN][INFER_MAX_DIMS];
    memset(dims, 0, sizeof dims);
    for (int k = 0; k < n_in; k++) {
        nd[k] = xs[k]->ndim;
        memcpy(dims[k], xs[k]->dims, (size_t)nd[k] * sizeof(int64_t));
    }
    return cuda_bcast_build(bc, y->ndim, y->dims, n_in, nd, (const int64_t (*)[INFER_MAX_DIMS])dims);
}

/* The fill value of masked_fill in the bits of dtype dt. */
static uint64_t value_bits(infer_dtype dt, float v) {
    uint64_t bits = 0;
    switch (dt) {
    case INFER_F32: memcpy(&bits, &v, 4); break;
    case INFER_F16: bits = half_from_float_sat(v); break; /* -1e9 stays a large finite negative */
    case INFER_I64: { int64_t i = (int64_t)v; memcpy(&bits, &i, 8); break; }
    case INFER_I32: { int32_t i = (int32_t)v; uint32_t u; memcpy(&u, &i, 4); bits = u; break; }
    case INFER_I8: bits = (uint8_t)(int8_t)v; break;
    case INFER_U8: bits = (uint8_t)v; break;
    case INFER_BOOL: bits = v != 0.0f; break;
    default: break;
    }
    return bits;
}

infer_status cuda_node_run(cuda_ctx *c, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                           const infer_tensor *out, unsigned long long code, infer_error *err) {
    void *st = c->stream;
    const infer_tensor *x = n->n_in > 0 ? &in[0] : NULL, *y = &out[0];
    int64_t ny = numel(y);
    int half = is_half(y);
    switch (n->op) {
    case OP_IDENTITY:
    case OP_RESHAPE:
        return cuda_copy(st, y->data, x->data, (size_t)ny * esize(y), err);
    case OP_CONV2D:
        if (!p) return infer_fail(err, INFER_ERR_INTERNAL, "conv2d without a plan");
        return cuda_conv_run(c, &p->conv, in[0].data, in[1].data, n->n_in > 2 ? in[2].data : NULL,
                             n->n_in > 3 ? in[3].data : NULL, y->data, err);
    case OP_LINEAR:
        if (!p) return infer_fail(err, INFER_ERR_INTERNAL, "linear without a plan");
        return cuda_gemm_run(c, &p->gemm, in[0].data, in[1].data, y->data, n->n_in > 2 ? in[2].data : NULL,
                             n->n_in > 3 ? in[3].data : NULL, err);
    case OP_MATMUL:
        if (!p) return infer_fail(err, INFER_ERR_INTERNAL, "matmul without a plan");
        return run_matmul(c, p, in, out, 0, err);
    case OP_BATCHNORM:
        return cuda_batchnorm(st, half, x->data, in[1].data, in[2].data, in[3].data, in[4].data, y->data, x->dims[0],
                              x->ndim > 1 ? x->dims[1] : 1, prod(x->dims, 2, x->ndim), n->p.batchnorm.eps, err);
    case OP_LAYERNORM: {
        int axes = n->p.layernorm.axes < 1 ? 1 : n->p.layernorm.axes;
        if (axes > x->ndim) axes = x->ndim;
        int64_t d = prod(x->dims, x->ndim - axes, x->ndim);
        return cuda_layernorm(st, half, x->data, n->n_in > 1 ? in[1].data : NULL, n->n_in > 2 ? in[2].data : NULL,
                              y->data, d ? ny / d : 0, d, n->p.layernorm.eps, err);
    }
    case OP_ACTIVATION: return cuda_activation(st, half, x->data, y->data, ny, n->p.activation, err);
    case OP_UNARY: return cuda_unary(st, half, x->data, y->data, ny, n->p.unary.kind, err);
    case OP_BINARY: {
        cuda_bcast bc;
        const infer_tensor *b = n->n_in > 1 && in[1].data ? &in[1] : NULL;
        const infer_tensor *xs[2] = { x, b ? b : x };
        if (!bcast_of(&bc, y, 2, xs)) return infer_fail(err, INFER_ERR_SHAPE, "binary: inputs do not broadcast");
        return cuda_binary(st, half, &bc, x->data, b ? b->data : NULL, y->data, ny, n->p.binary.kind,
                           n->p.binary.scalar, n->p.binary.reverse, err);
    }
    case OP_SOFTMAX: {
        int ax = norm_axis(n->p.softmax.axis, x->ndim);
        if (ax < 0 || ax >= x->ndim) return infer_fail(err, INFER_ERR_SHAPE, "softmax: axis %d", n->p.softmax.axis);
        return cuda_softmax(st, half, x->data, y->data, prod(x->dims, 0, ax), x->dims[ax], prod(x->dims, ax + 1, x->ndim),
                            n->p.softmax.log, err);
    }
    case OP_MAXPOOL2D:
        return cuda_maxpool2d(st, half, x->data, y->data, x->dims[0] * x->dims[1], (int)x->dims[2], (int)x->dims[3],
                              (int)y->dims[2], (int)y->dims[3], &n->p.pool2d, err);
    case OP_AVGPOOL2D:
        return cuda_avgpool2d(st, half, x->data, y->data, x->dims[0] * x->dims[1], (int)x->dims[2], (int)x->dims[3],
                              (int)y->dims[2], (int)y->dims[3], &n->p.pool2d, err);
    case OP_ADAPTIVE_AVGPOOL2D:
        return cuda_adaptive_avgpool2d(st, half, x->data, y->data, x->dims[0] * x->dims[1], (int)x->dims[2],
                                       (int)x->dims[3], (int)y->dims[2], (int)y->dims[3], err);
    case OP_TRANSPOSE:
        return cuda_transpose(st, esize(x), x->data, y->data, x->ndim, x->dims, n->p.transpose.perm, err);
    case OP_CONCAT: {
        int ax = norm_axis(n->p.concat.axis, y->ndim);
        if (ax < 0 || ax >= y->ndim) return infer_fail(err, INFER_ERR_SHAPE, "concat: axis %d", n->p.concat.axis);
        int64_t outer = prod(y->dims, 0, ax), inner = prod(y->dims, ax + 1, y->ndim), off = 0;
        for (int k = 0; k < n->n_in; k++) {
            int64_t xi = in[k].dims[ax] * inner;
            INFER_TRY(cuda_concat_part(st, esize(y), in[k].data, y->data, outer, xi, y->dims[ax] * inner, off, err));
            off += xi;
        }
        return INFER_OK;
    }
    case OP_SLICE: {
        int ax = norm_axis(n->p.slice.axis, x->ndim);
        if (ax < 0 || ax >= x->ndim) return infer_fail(err, INFER_ERR_SHAPE, "slice: axis %d", n->p.slice.axis);
        int64_t size = x->dims[ax], start = n->p.slice.start;
        if (start < 0) start = start < -size ? 0 : start + size;
        if (start > size) start = size;
        return cuda_slice(st, esize(x), x->data, y->data, prod(x->dims, 0, ax), size, prod(x->dims, ax + 1, x->ndim),
                          start, n->p.slice.step, y->dims[ax], err);
    }
    case OP_EXPAND: {
        cuda_bcast bc;
        const infer_tensor *xs[1] = { x };
        if (!bcast_of(&bc, y, 1, xs)) return infer_fail(err, INFER_ERR_SHAPE, "expand: input does not broadcast");
        return cuda_expand(st, esize(y), &bc, x->data, y->data, ny, err);
    }
    case OP_WHERE: {
        cuda_bcast bc;
        const infer_tensor *xs[3] = { &in[0], &in[1], &in[2] };
        if (!bcast_of(&bc, y, 3, xs)) return infer_fail(err, INFER_ERR_SHAPE, "where: inputs do not broadcast");
        return cuda_where(st, esize(y), &bc, in[0].data, in[1].data, in[2].data, y->data, ny, err);
    }
    case OP_MASKED_FILL: {
        cuda_bcast bc;
        const infer_tensor *xs[2] = { x, &in[1] };
        if (!bcast_of(&bc, y, 2, xs)) return infer_fail(err, INFER_ERR_SHAPE, "masked_fill: mask does not broadcast");
        return cuda_masked_fill(st, esize(y), &bc, x->data, in[1].data, y->data, ny,
                                value_bits(y->dtype, n->p.masked_fill.value), err);
    }
    case OP_COMPARE: {
        cuda_bcast bc;
        const infer_tensor *b = n->n_in > 1 && in[1].data ? &in[1] : NULL;
        const infer_tensor *xs[2] = { x, b ? b : x };
        if (!bcast_of(&bc, y, 2, xs)) return infer_fail(err, INFER_ERR_SHAPE, "compare: inputs do not broadcast");
        return cuda_compare(st, x->dtype, &bc, x->data, b ? b->data : NULL, y->data, ny, n->p.compare.kind,
                            n->p.compare.scalar, err);
    }
    case OP_CAST: return cuda_cast(st, x->dtype, y->dtype, x->data, y->data, ny, err);
    case OP_EMBEDDING: {
        const infer_tensor *w = &in[1];
        return cuda_embedding(st, half, x->data, x->dtype == INFER_I64, w->data, y->data, numel(x), w->dims[0],
                              w->dims[1], c->err_flag, code, err);
    }
    case OP_REDUCE: {
        unsigned mask = 0;
        const reduce_params *rp = &n->p.reduce;
        for (int i = 0; i < rp->naxes; i++) {
            int a = norm_axis(rp->axes[i], x->ndim);
            if (a < 0 || a >= x->ndim) return infer_fail(err, INFER_ERR_SHAPE, "reduce: axis %d", rp->axes[i]);
            mask |= 1u << a;
        }
        if (rp->naxes == 0) mask = (1u << x->ndim) - 1u; /* no axes: all of them */
        return cuda_reduce(st, half, x->data, y->data, x->ndim, x->dims, mask, rp->kind, err);
    }
    case OP_ATTENTION: {
        const infer_tensor *m = n->n_in > 3 && in[3].data ? &in[3] : NULL;
        int mk = !m ? 0 : (m->dtype == INFER_BOOL || m->dtype == INFER_U8) ? 2 : m->dtype != y->dtype ? 3 : 1;
        return cuda_attention(st, half, in[0].data, in[1].data, in[2].data, m ? m->data : NULL, mk, y->data,
                              in[0].dims[0], in[0].dims[1], in[1].dims[1], in[0].dims[2], n->p.attention.heads,
                              n->p.attention.causal, n->p.attention.scale, err);
    }
    case OP_LSTM:
        if (!p) return infer_fail(err, INFER_ERR_INTERNAL, "lstm without a plan");
        return run_lstm(c, n, p, in, out, 0, err);
    default:
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "op %s has no CUDA kernel", op_name(n->op));
    }
}
