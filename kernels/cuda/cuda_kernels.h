/* cuda_kernels.h — the CUDA kernels' launchers, callable from C (no CUDA headers): one file per kernel. */
#ifndef INFER_CUDA_KERNELS_H
#define INFER_CUDA_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "infer.h"
#include "../../base/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Conventions. `stream` is a cudaStream_t. Pointers are device pointers. `dtype` is the storage dtype of
 * the floating-point tensors, INFER_F32 or INFER_F16 (math is always done in float; another dtype is
 * INFER_ERR_UNSUPPORTED). Element counts
 * are int64. Every launcher returns INFER_OK or fills err (a failed launch is INFER_ERR_DEVICE) and
 * does nothing for an empty tensor. Kernels are asynchronous on the stream. */

/* Broadcast indexing (numpy rules, right-aligned) of up to 3 inputs against an output, with
 * size-1 and contiguous dimensions merged. st[k][d] is input k's stride (elements) along output
 * dimension d, 0 where it is broadcast. */
#define CUDA_BCAST_MAX_IN 3
typedef struct {
    int ndim;                                   /* >= 1 */
    int64_t dims[INFER_MAX_DIMS];
    int64_t st[CUDA_BCAST_MAX_IN][INFER_MAX_DIMS];
} cuda_bcast;

/* Fills b for output dims out[0..out_ndim) and n_in inputs; returns 0 when an input does not
 * broadcast to the output. An input with in_ndim 0 is a scalar. */
int cuda_bcast_build(cuda_bcast *b, int out_ndim, const int64_t *out_dims, int n_in, const int *in_ndim,
                     const int64_t (*in_dims)[INFER_MAX_DIMS]);

/* y = act(x), n elements. */
infer_status cuda_activation(void *stream, infer_dtype dtype, const void *x, void *y, int64_t n, act_params act,
                             infer_error *err);

/* In place on y (n elements): y = act(y + bias[(i / inner) % channels] + residual[i]). bias and
 * residual may be NULL. Linear: channels = N, inner = 1; conv2d (NCHW): channels = O, inner = H*W. */
infer_status cuda_epilogue(void *stream, infer_dtype dtype, void *y, int64_t n, const void *bias, int64_t channels,
                           int64_t inner, const void *residual, act_params act, infer_error *err);

/* y = a op b with broadcasting (b NULL: y = a op scalar, or scalar op a when reverse). */
infer_status cuda_binary(void *stream, infer_dtype dtype, const cuda_bcast *bc, const void *a, const void *b, void *y,
                         int64_t n, binary_kind kind, float scalar, int reverse, infer_error *err);

infer_status cuda_unary(void *stream, infer_dtype dtype, const void *x, void *y, int64_t n, unary_kind kind,
                        infer_error *err);

/* Softmax (or log-softmax) of x viewed as [outer, dim, inner] along dim, in float. */
infer_status cuda_softmax(void *stream, infer_dtype dtype, const void *x, void *y, int64_t outer, int64_t dim,
                          int64_t inner, int log, infer_error *err);

/* LayerNorm of rows x [rows, d] with float statistics; w, b ([d]) may be NULL. */
infer_status cuda_layernorm(void *stream, infer_dtype dtype, const void *x, const void *w, const void *b, void *y,
                            int64_t rows, int64_t d, float eps, infer_error *err);

/* BatchNorm (inference): x [n, c, inner]. */
infer_status cuda_batchnorm(void *stream, infer_dtype dtype, const void *x, const void *w, const void *b,
                            const void *mean, const void *var, void *y, int64_t n, int64_t c, int64_t inner,
                            float eps, infer_error *err);

/* Pools over x [nc, h, w] -> y [nc, oh, ow]. */
infer_status cuda_maxpool2d(void *stream, infer_dtype dtype, const void *x, void *y, int64_t nc, int h, int w, int oh,
                            int ow, const pool2d_params *p, infer_error *err);
infer_status cuda_avgpool2d(void *stream, infer_dtype dtype, const void *x, void *y, int64_t nc, int h, int w, int oh,
                            int ow, const pool2d_params *p, infer_error *err);
infer_status cuda_adaptive_avgpool2d(void *stream, infer_dtype dtype, const void *x, void *y, int64_t nc, int h, int w,
                                     int oh, int ow, infer_error *err);

/* Depthwise conv2d (groups == C, O = C * mult) with the fused epilogue of conv2d. x [N,C,H,W],
 * w [O,1,kh,kw], y [N,O,oh,ow]. */
typedef struct {
    int64_t n, c, h, w, o, oh, ow;
    int kh, kw, stride[2], padding[2], dilation[2];
} cuda_dwconv_shape;
infer_status cuda_depthwise_conv2d(void *stream, infer_dtype dtype, const cuda_dwconv_shape *s, const void *x,
                                   const void *w, const void *bias, const void *residual, void *y,
                                   act_params act, infer_error *err);

/* Embedding: y[i, :] = w[ids[i], :] for n_ids ids (int64 when ids_i64, else int32), w [vocab, d].
 * An id outside [0, vocab) zeroes its row and records (code, id) in flag[0], flag[1] (first one wins);
 * flag is device memory the caller clears before the run. */
infer_status cuda_embedding(void *stream, infer_dtype dtype, const void *ids, int ids_i64, const void *w, void *y,
                            int64_t n_ids, int64_t vocab, int64_t d, unsigned long long *flag,
                            unsigned long long code, infer_error *err);

/* Plain device-to-device copy (reshape, identity); nothing when src == dst. */
infer_status cuda_copy(void *stream, void *dst, const void *src, size_t bytes, infer_error *err);

/* y = permute(x): y.dims[i] = x.dims[perm[i]], elements of es bytes (1, 2, 4 or 8). */
infer_status cuda_transpose(void *stream, size_t es, const void *x, void *y, int ndim, const int64_t *x_dims,
                            const int *perm, infer_error *err);

/* One concat input: x [outer, x_inner] copied to y [outer, y_inner] at column y_offset (elements). */
infer_status cuda_concat_part(void *stream, size_t es, const void *x, void *y, int64_t outer, int64_t x_inner,
                              int64_t y_inner, int64_t y_offset, infer_error *err);

/* y [outer, len, inner] = x [outer, dim, inner] at start + i * step along the middle axis. */
infer_status cuda_slice(void *stream, size_t es, const void *x, void *y, int64_t outer, int64_t dim,
                        int64_t inner, int64_t start, int64_t step, int64_t len, infer_error *err);

/* y = x broadcast to the output of bc (input 0). */
infer_status cuda_expand(void *stream, size_t es, const cuda_bcast *bc, const void *x, void *y, int64_t n,
                         infer_error *err);

/* z = cond ? x : y with broadcasting (bc inputs: cond, x, y); cond is bool (one byte). */
infer_status cuda_where(void *stream, size_t es, const cuda_bcast *bc, const void *cond, const void *x,
                        const void *y, void *z, int64_t n, infer_error *err);

/* y = mask ? value : x (bc inputs: x, mask); value_bits holds the value in x's dtype (es bytes). */
infer_status cuda_masked_fill(void *stream, size_t es, const cuda_bcast *bc, const void *x, const void *mask,
                              void *y, int64_t n, uint64_t value_bits, infer_error *err);

/* y (bool) = a cmp b (b NULL: a cmp scalar); a and b of dtype dt (f32, f16, i32, i64, i8, u8, bool). */
infer_status cuda_compare(void *stream, infer_dtype dt, const cuda_bcast *bc, const void *a, const void *b,
                          void *y, int64_t n, compare_kind kind, float scalar, infer_error *err);

/* y = (to) x elementwise; f32, f16, i32, i64, i8, u8, bool. Float to int truncates toward zero; to bool: != 0. */
infer_status cuda_cast(void *stream, infer_dtype from, infer_dtype to, const void *x, void *y, int64_t n,
                       infer_error *err);
int cuda_cast_supported(infer_dtype from, infer_dtype to);

/* Reduction of x (ndim dims) over the axes set in axes_mask (bit d: dimension d), in float. */
infer_status cuda_reduce(void *stream, infer_dtype dtype, const void *x, void *y, int ndim, const int64_t *dims,
                         unsigned axes_mask, reduce_kind kind, infer_error *err);

/* Multi-head attention, fused (online softmax in float): q [B,Lq,E], k, v [B,Lk,E], y [B,Lq,E].
 * mask_kind: 0 none, 1 additive [Lq,Lk] of the float storage type, 2 bool [Lq,Lk] (true masks out), 3 additive f32
 * [Lq,Lk] with half q, k, v (FP16 keeps float masks in f32: cuda_dtypes.h). mask_stride: 0, or Lq*Lk for a mask per
 * batch [B,Lq,Lk].
 * Head size E/heads must be at most CUDA_ATTENTION_MAX_HEAD. */
#define CUDA_ATTENTION_MAX_HEAD 256
infer_status cuda_attention(void *stream, infer_dtype dtype, const void *q, const void *k, const void *v, const void *mask,
                            int mask_kind, int64_t mask_stride, void *y, int64_t B, int64_t Lq, int64_t Lk, int64_t E, int heads,
                            int causal, float scale, infer_error *err);

/* One LSTM time step for all of the batch, gates i, f, g, o:
 *   gates[b] = gx[b] (+ b_ih + b_hh) + h_prev[b] · w_hhᵀ, c[b] = f*c[b] + i*g, h_out[b] = o*tanh(c[b]).
 * gx rows [4H] at gx + b*gx_stride; h_prev rows [H] at h_prev + b*hp_stride (NULL: zeros); h_out rows
 * at h_out + b*ho_stride; c [B,H] updated in place; w_hh [4H,H]; biases [4H] or NULL. Strides in elements. */
infer_status cuda_lstm_step(void *stream, infer_dtype dtype, const void *gx, int64_t gx_stride, const void *w_hh,
                            const void *b_ih, const void *b_hh, const void *h_prev, int64_t hp_stride, void *c,
                            void *h_out, int64_t ho_stride, int64_t B, int64_t H, infer_error *err);

#ifdef __cplusplus
}
#endif
#endif
