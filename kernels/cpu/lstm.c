/* lstm.c — multi-layer, uni- or bidirectional LSTM on the shared recurrent driver (recurrent.c): the gate math
 * c = f·c + i·g, h = o·tanh(c), scalar and vectorised. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "recurrent.h"
#include "../../base/error.h"

static inline float sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

/* c = f·c + i·g, h = o·tanh(c) for hidden units [j0, j1) of B rows; p: pre-activations (i, f, g, o). */
static void gates_scalar(const float *pre, int64_t ld_pre, float *c, float *h, int64_t ld_h, int64_t B, int64_t H,
                         int64_t j0, int64_t j1) {
    for (int64_t b = 0; b < B; b++) {
        const float *p = pre + b * ld_pre;
        float *cb = c + b * H, *hb = h + b * ld_h;
        for (int64_t j = j0; j < j1; j++) {
            float i = sigmoid(p[j]), f = sigmoid(p[H + j]), g = tanhf(p[2 * H + j]), o = sigmoid(p[3 * H + j]);
            float cell = f * cb[j] + i * g;
            cb[j] = cell;
            hb[j] = o * tanhf(cell);
        }
    }
}

#if defined(__x86_64__)
/* The epilogue's vector exp/tanh (within a few ulp of expf/tanhf), instantiated per width. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define VW 8
#define VNAME(name) name##_avx2
#include "epilogue_vec.h"
#define GATES_FN gates_avx2
#include "lstm_gates_vec.h"
#undef GATES_FN
#undef VW
#undef VNAME
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,fma")
#define VW 16
#define VNAME(name) name##_avx512
#include "epilogue_vec.h"
#define GATES_FN gates_avx512
#include "lstm_gates_vec.h"
#undef GATES_FN
#undef VW
#undef VNAME
#pragma GCC pop_options
#pragma GCC diagnostic pop
#endif

static void lstm_gates(int isa, const float *pre, int64_t ld_pre, float *c, float *h, int64_t ld_h, int64_t B,
                       int64_t H, int64_t j0, int64_t j1) {
#if defined(__x86_64__)
    if (isa == CPU_ISA_AVX512) {
        gates_avx512(pre, ld_pre, c, h, ld_h, B, H, j0, j1);
        return;
    }
    if (isa == CPU_ISA_AVX2) {
        gates_avx2(pre, ld_pre, c, h, ld_h, B, H, j0, j1);
        return;
    }
#endif
    gates_scalar(pre, ld_pre, c, h, ld_h, B, H, j0, j1);
}

/* The gate math of one step: pre-activations are hh (x + h·w_hhᵀ), or x alone on a first step without h0. */
static void lstm_cell(int isa, const rnn_step_io *io, int64_t j0, int64_t j1) {
    const float *pre = io->hh ? io->hh : io->x;
    lstm_gates(isa, pre, io->hh ? io->ld_hh : io->ld_x, io->c, io->h, io->ld_h, io->B, io->H, j0, j1);
}

static const rnn_kind lstm_kind = { "lstm", 4, 2, 0, lstm_cell };

size_t cpu_lstm_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)out, (void)threads;
    return rnn_workspace(&lstm_kind, n, in, 0);
}
size_t cpu_lstm_prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    return rnn_prepack_size(&lstm_kind, n, in, isa);
}
void cpu_lstm_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    rnn_prepack(&lstm_kind, n, in, isa, dst);
}
static int prepacks_input(const ir_node *n, int k) { return rnn_prepacks_input(&lstm_kind, n, k); }

RNN_S8_KERNEL_FUNCTIONS(lstm, lstm_kind)

CPU_KERNEL(lstm) { return rnn_run(&lstm_kind, ctx, n, in, out, NULL, err); }

const cpu_kernel cpu_kernels_lstm[] = {
    { .storages = CPU_DENSE,
      .run = cpu_lstm,
      .workspace = cpu_lstm_workspace,
      .prepack_input = prepacks_input,
      .prepack_size = cpu_lstm_prepack_size,
      .prepack = cpu_lstm_prepack },
    RNN_S8_KERNEL(lstm, prepacks_input), /* w_ih and w_hh int8 per gate row: dynamic INT8 */
    { 0 },
};
