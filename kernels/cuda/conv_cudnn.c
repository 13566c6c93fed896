/* conv_cudnn.c — cuDNN convolution: descriptors, algorithm choice (heuristic, search, cache), fused bias+act+residual. */
#include <stdio.h>
#include <string.h>
#include "conv_cudnn.h"
#include "../../runtime/cuda/cuda_check.h"

void cuda_conv_destroy(cuda_conv *v) {
    if (v->xd) cudnnDestroyTensorDescriptor(v->xd);
    if (v->yd) cudnnDestroyTensorDescriptor(v->yd);
    if (v->bd) cudnnDestroyTensorDescriptor(v->bd);
    if (v->wd) cudnnDestroyFilterDescriptor(v->wd);
    if (v->cd) cudnnDestroyConvolutionDescriptor(v->cd);
    if (v->ad) cudnnDestroyActivationDescriptor(v->ad);
    memset(v, 0, sizeof *v);
}

size_t cuda_conv_workspace(const cuda_conv *v) {
    /* the first choice; on a refusal, later candidates are tried only within what was allocated */
    if (v->depthwise || v->n_cand == 0) return 0;
    return v->cand[v->cur].ws;
}

/* FP32 (no TF32) keeps to FMA math and leaves out the FFT and both Winograd algorithms, whose
 * rounding differs most from the direct sum the CPU computes (over 50 layers, enough to leave 1e-5). */
static int strict(const cuda_ctx *c) { return c->precision == INFER_PRECISION_FP32; }
static cudnnMathType_t wanted_math(const cuda_ctx *c) {
    return c->fp16 ? CUDNN_TENSOR_OP_MATH : c->precision == INFER_PRECISION_TF32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}
static int algo_allowed(const cuda_ctx *c, cudnnConvolutionFwdAlgo_t a, cudnnMathType_t m) {
    if (!strict(c)) return 1;
    if (a == CUDNN_CONVOLUTION_FWD_ALGO_FFT || a == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
        a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED)
        return 0;
    return m != CUDNN_TENSOR_OP_MATH && m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

/* Adds (algo, math) when cuDNN accepts it for these descriptors within ws_limit. */
static void add_candidate(cuda_ctx *c, cuda_conv *v, cudnnConvolutionFwdAlgo_t a, cudnnMathType_t m, size_t ws_limit) {
    if (v->n_cand >= CUDA_CONV_CANDIDATES || !algo_allowed(c, a, m)) return;
    for (int i = 0; i < v->n_cand; i++)
        if (v->cand[i].algo == a) return;
    if (strict(c)) m = CUDNN_FMA_MATH;
    if (cudnnSetConvolutionMathType(v->cd, m) != CUDNN_STATUS_SUCCESS) return;
    size_t ws = 0;
    if (cudnnGetConvolutionForwardWorkspaceSize(c->dnn, v->xd, v->wd, v->cd, v->yd, a, &ws) != CUDNN_STATUS_SUCCESS)
        return;
    if (ws > ws_limit) return;
    v->cand[v->n_cand].algo = a;
    v->cand[v->n_cand].math = m;
    v->cand[v->n_cand].ws = ws;
    v->n_cand++;
}

/* cudnnConvolutionBiasActivationForward is documented for ReLU and identity only (cudnn_cnn.h); any
 * other activation (Relu6 included) runs unfused, in our epilogue after the convolution. */
static int fusable(const cuda_conv *v, const act_params *act) {
    if (!v->has_bias) return 0;
    return act->kind == ACT_RELU || act->kind == ACT_NONE;
}

/* IDENTITY activation is only accepted by cuDNN with IMPLICIT_PRECOMP_GEMM. */
static int fused_with(const cuda_conv *v, cudnnConvolutionFwdAlgo_t a) {
    if (!v->fusable) return 0;
    if (v->p.act.kind == ACT_NONE) return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    return 1;
}

static void parse_cached(cuda_ctx *c, cuda_conv *v, size_t ws_limit) {
    if (!c->cache_used) return;
    const char *s = tune_cache_get(&c->cache, v->key);
    int a = -1, m = -1;
    if (!s) return;
    if (sscanf(s, "%d,%d", &a, &m) != 2 || a < 0 || a >= CUDNN_CONVOLUTION_FWD_ALGO_COUNT || m < 0 || m > 3) {
        cuda_ctx_warn(c, "tuning cache entry for %s is malformed; ignored", v->key);
        return;
    }
    int before = v->n_cand;
    add_candidate(c, v, (cudnnConvolutionFwdAlgo_t)a, (cudnnMathType_t)m, ws_limit);
    if (v->n_cand == before) {
        cuda_ctx_warn(c, "tuning cache entry for %s is not valid here; using the heuristic", v->key);
        return;
    }
    v->cached = 1;
}

infer_status cuda_conv_prepare(cuda_ctx *c, cuda_conv *v, const infer_tensor *x, const infer_tensor *w,
                               const infer_tensor *y, int has_bias, int has_residual, const conv2d_params *p,
                               size_t ws_limit, infer_error *err) {
    memset(v, 0, sizeof *v);
    v->n = x->dims[0], v->c = x->dims[1], v->h = x->dims[2], v->w = x->dims[3];
    v->o = w->dims[0], v->kh = (int)w->dims[2], v->kw = (int)w->dims[3];
    v->oh = y->dims[2], v->ow = y->dims[3];
    v->p = *p;
    v->has_bias = has_bias;
    v->has_residual = has_residual;
    if (v->p.dilation[0] < 1) v->p.dilation[0] = 1;
    if (v->p.dilation[1] < 1) v->p.dilation[1] = 1;
    if (v->p.stride[0] < 1) v->p.stride[0] = 1;
    if (v->p.stride[1] < 1) v->p.stride[1] = 1;
    if (p->groups > 1 && p->groups == v->c && v->o % v->c == 0 && w->dims[1] == 1) {
        v->depthwise = 1;
        cuda_dwconv_shape *s = &v->dw;
        s->n = v->n, s->c = v->c, s->h = v->h, s->w = v->w, s->o = v->o, s->oh = v->oh, s->ow = v->ow;
        s->kh = v->kh, s->kw = v->kw;
        for (int i = 0; i < 2; i++) {
            s->stride[i] = v->p.stride[i];
            s->padding[i] = v->p.padding[i];
            s->dilation[i] = v->p.dilation[i];
        }
        return INFER_OK;
    }
    if (v->n * v->o * v->oh * v->ow == 0) return INFER_OK;
    if (v->n > INT32_MAX || v->c > INT32_MAX || v->h > INT32_MAX || v->w > INT32_MAX || v->o > INT32_MAX)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "conv2d too large for cuDNN");
    cudnnDataType_t dt = c->fp16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&v->xd));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&v->yd));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&v->bd));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&v->wd));
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&v->cd));
    CUDNN_CHECK(cudnnCreateActivationDescriptor(&v->ad));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(v->xd, CUDNN_TENSOR_NCHW, dt, (int)v->n, (int)v->c, (int)v->h, (int)v->w));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(v->yd, CUDNN_TENSOR_NCHW, dt, (int)v->n, (int)v->o, (int)v->oh, (int)v->ow));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(v->bd, CUDNN_TENSOR_NCHW, dt, 1, (int)v->o, 1, 1));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(v->wd, dt, CUDNN_TENSOR_NCHW, (int)v->o, (int)w->dims[1], v->kh, v->kw));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(v->cd, v->p.padding[0], v->p.padding[1], v->p.stride[0], v->p.stride[1],
                                                v->p.dilation[0], v->p.dilation[1], CUDNN_CROSS_CORRELATION,
                                                CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionGroupCount(v->cd, p->groups < 1 ? 1 : p->groups));
    CUDNN_CHECK(cudnnSetConvolutionMathType(v->cd, wanted_math(c)));
    int on, oc, oh, ow;
    CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(v->cd, v->xd, v->wd, &on, &oc, &oh, &ow));
    if (on != v->n || oc != v->o || oh != v->oh || ow != v->ow)
        return infer_fail(err, INFER_ERR_INTERNAL, "conv2d: cuDNN computes output [%d,%d,%d,%d], the graph says [%lld,%lld,%lld,%lld]",
                          on, oc, oh, ow, (long long)v->n, (long long)v->o, (long long)v->oh, (long long)v->ow);
    v->fusable = fusable(v, &p->act);
    if (v->fusable) {
        cudnnActivationMode_t mode = p->act.kind == ACT_RELU ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY;
        CUDNN_CHECK(cudnnSetActivationDescriptor(v->ad, mode, CUDNN_PROPAGATE_NAN, 0.0));
    }
    snprintf(v->key, sizeof v->key, "conv|%s|%lld,%lld,%lld,%lld|%lld,%lld,%d,%d|s%d,%d|p%d,%d|d%d,%d|g%d",
             infer_precision_name(c->precision), (long long)v->n, (long long)v->c, (long long)v->h, (long long)v->w,
             (long long)v->o, (long long)w->dims[1], v->kh, v->kw, v->p.stride[0], v->p.stride[1], v->p.padding[0],
             v->p.padding[1], v->p.dilation[0], v->p.dilation[1], p->groups);
    parse_cached(c, v, ws_limit);
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int count = 0;
    CUDNN_CHECK(cudnnSetConvolutionMathType(v->cd, wanted_math(c)));
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(c->dnn, v->xd, v->wd, v->cd, v->yd,
                                                       CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf));
    for (int i = 0; i < count; i++)
        if (perf[i].status == CUDNN_STATUS_SUCCESS) add_candidate(c, v, perf[i].algo, perf[i].mathType, ws_limit);
    /* always keep the plain implicit GEMM as a last resort (no workspace) */
    add_candidate(c, v, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, wanted_math(c), ws_limit);
    if (v->n_cand == 0)
        return infer_fail(err, INFER_ERR_UNSUPPORTED,
                          "cuDNN offers no forward algorithm for conv2d %s within %zu bytes of workspace", v->key,
                          ws_limit);
    v->cur = 0;
    v->fused = fused_with(v, v->cand[0].algo);
    return INFER_OK;
}

/* The fused call always reads z (alpha2 * z): without a residual, z is y zeroed first, so stale arena
 * bits (an FP16 inf or NaN times 0 is NaN) never reach the result. */
static cudnnStatus_t forward(cuda_ctx *c, cuda_conv *v, const cuda_conv_algo *a, int fused, const void *x,
                             const void *w, const void *bias, const void *residual, void *y) {
    if (v->refuse_fused && fused) return CUDNN_STATUS_NOT_SUPPORTED; /* a test's stand-in for a refusal */
    cudnnStatus_t s = cudnnSetConvolutionMathType(v->cd, a->math);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    float one = 1.0f, zero = 0.0f;
    if (fused) {
        if (!residual) {
            size_t bytes = (size_t)(v->n * v->o * v->oh * v->ow) * (c->fp16 ? 2 : 4);
            if (cudaMemsetAsync(y, 0, bytes, c->stream) != cudaSuccess) return CUDNN_STATUS_EXECUTION_FAILED;
        }
        return cudnnConvolutionBiasActivationForward(c->dnn, &one, v->xd, x, v->wd, w, v->cd, a->algo, c->scratch,
                                                     a->ws, residual ? &one : &zero, v->yd, residual ? residual : y,
                                                     v->bd, bias, v->ad, v->yd, y);
    }
    return cudnnConvolutionForward(c->dnn, &one, v->xd, x, v->wd, w, v->cd, a->algo, c->scratch, a->ws, &zero, v->yd, y);
}

/* What the first run may step past: cuDNN saying it does not support this choice (any NOT_SUPPORTED
 * code), and for the fused call also BAD_PARAM (its documented answer to an activation or bias it
 * does not take). Everything else (an execution failure, a sticky fault, out of memory) is an error. */
static int refusal(cudnnStatus_t s, int fused) {
    if (CUDNN_STATUS_CATEGORY(s) == CUDNN_STATUS_NOT_SUPPORTED) return 1;
    return fused && CUDNN_STATUS_CATEGORY(s) == CUDNN_STATUS_BAD_PARAM;
}

infer_status cuda_conv_run(cuda_ctx *c, cuda_conv *v, const void *x, const void *w, const void *bias,
                           const void *residual, void *y, infer_error *err) {
    const void *b = v->has_bias ? bias : NULL, *r = v->has_residual ? residual : NULL;
    if (v->depthwise)
        return cuda_depthwise_conv2d(c->stream, c->fp16 ? INFER_F16 : INFER_F32, &v->dw, x, w, b, r, y, v->p.act, err);
    int64_t n = v->n * v->o * v->oh * v->ow;
    if (n == 0) return INFER_OK;
    if (v->cand[v->cur].ws > c->scratch_bytes)
        return infer_fail(err, INFER_ERR_INTERNAL, "conv2d algorithm needs %zu bytes of workspace, %zu allocated",
                          v->cand[v->cur].ws, c->scratch_bytes);
    cudnnStatus_t s = forward(c, v, &v->cand[v->cur], v->fused, x, w, b, r, y);
    /* the first run checks the choice: a refused fused call or algorithm moves on to the next */
    while (s != CUDNN_STATUS_SUCCESS && !v->validated && refusal(s, v->fused)) {
        char what[160];
        snprintf(what, sizeof what, "%s (algo %d%s)", cudnnGetErrorString(s), (int)v->cand[v->cur].algo,
                 v->fused ? ", fused bias+activation" : "");
        if (v->fused) {
            v->fused = 0;
            v->fusable = 0;
        } else {
            int next = v->cur + 1;
            while (next < v->n_cand && v->cand[next].ws > c->scratch_bytes) next++;
            if (next >= v->n_cand) break;
            v->cur = next;
        }
        cuda_ctx_warn(c, "conv2d %s: cuDNN refused %s; trying %s", v->key, what,
                      v->fused ? "the next algorithm" : "an unfused call or the next algorithm");
        s = forward(c, v, &v->cand[v->cur], v->fused, x, w, b, r, y);
    }
    if (s != CUDNN_STATUS_SUCCESS) return cuda_fail_dnn(err, s, v->fused ? "cudnnConvolutionBiasActivationForward" : "cudnnConvolutionForward", __FILE__, __LINE__);
    v->validated = 1;
    if (v->fused) return INFER_OK;
    return cuda_epilogue(c->stream, c->fp16 ? INFER_F16 : INFER_F32, y, n, b, v->o, v->oh * v->ow, r, v->p.act, err);
}

infer_status cuda_conv_tune(cuda_ctx *c, cuda_conv *v, const void *x, const void *w, void *y, infer_error *err) {
    if (v->depthwise || v->n_cand == 0 || v->cached) return INFER_OK;
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int count = 0;
    CUDNN_CHECK(cudnnSetConvolutionMathType(v->cd, wanted_math(c)));
    CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(c->dnn, v->xd, x, v->wd, w, v->cd, v->yd, y,
                                                       CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf, c->scratch,
                                                       c->scratch_bytes));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    cuda_conv old = *v;
    v->n_cand = 0;
    for (int i = 0; i < count; i++)
        if (perf[i].status == CUDNN_STATUS_SUCCESS) add_candidate(c, v, perf[i].algo, perf[i].mathType, c->scratch_bytes);
    for (int i = 0; i < old.n_cand; i++) add_candidate(c, v, old.cand[i].algo, old.cand[i].math, c->scratch_bytes);
    if (v->n_cand == 0) { /* keep what the heuristic gave */
        memcpy(v->cand, old.cand, sizeof v->cand);
        v->n_cand = old.n_cand;
    }
    v->cur = 0;
    v->fusable = old.fusable;
    v->fused = fused_with(v, v->cand[0].algo);
    if (c->cache_used) {
        char val[32];
        snprintf(val, sizeof val, "%d,%d", (int)v->cand[0].algo, (int)v->cand[0].math);
        tune_cache_put(&c->cache, v->key, val);
    }
    return INFER_OK;
}
