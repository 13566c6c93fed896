/* gru.c — multi-layer, uni- or bidirectional GRU on the shared recurrent driver (recurrent.c): the gate math
 * r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n), h = (1 − z)·n + z·h_prev, scalar and vectorised. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "recurrent.h"
#include "../../base/error.h"

static inline float sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

/* x: input projections (with b_ih), hh: h_prev·w_hhᵀ + b_hh, both [B, 3H] gate blocks r, z, n. */
static void gru_gates_scalar(const rnn_step_io *io, int64_t j0, int64_t j1) {
    int64_t H = io->H;
    for (int64_t b = 0; b < io->B; b++) {
        const float *x = io->x + b * io->ld_x, *hh = io->hh + b * io->ld_hh, *hp = io->h_prev + b * io->ld_prev;
        float *h = io->h + b * io->ld_h;
        for (int64_t j = j0; j < j1; j++) {
            float r = sigmoid(x[j] + hh[j]), z = sigmoid(x[H + j] + hh[H + j]);
            float nn = tanhf(x[2 * H + j] + r * hh[2 * H + j]);
            h[j] = (1.0f - z) * nn + z * hp[j];
        }
    }
}

#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define VW 8
#define VNAME(name) name##_avx2
#include "epilogue_vec.h"
#define GATES_FN gru_gates_avx2
#include "gru_gates_vec.h"
#undef GATES_FN
#undef VW
#undef VNAME
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,fma")
#define VW 16
#define VNAME(name) name##_avx512
#include "epilogue_vec.h"
#define GATES_FN gru_gates_avx512
#include "gru_gates_vec.h"
#undef GATES_FN
#undef VW
#undef VNAME
#pragma GCC pop_options
#pragma GCC diagnostic pop
#endif

static void gru_cell(int isa, const rnn_step_io *io, int64_t j0, int64_t j1) {
#if defined(__x86_64__)
    if (isa == CPU_ISA_AVX512) {
        gru_gates_avx512(io, j0, j1);
        return;
    }
    if (isa == CPU_ISA_AVX2) {
        gru_gates_avx2(io, j0, j1);
        return;
    }
#endif
    gru_gates_scalar(io, j0, j1);
}

static const rnn_kind gru_kind = { "gru", 3, 1, 1, gru_cell };

static size_t gru_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)out, (void)threads;
    return rnn_workspace(&gru_kind, n, in, 0);
}
static size_t gru_prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    return rnn_prepack_size(&gru_kind, n, in, isa);
}
static void gru_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    rnn_prepack(&gru_kind, n, in, isa, dst);
}
static int prepacks_input(const ir_node *n, int k) { return rnn_prepacks_input(&gru_kind, n, k); }

RNN_S8_KERNEL_FUNCTIONS(gru, gru_kind)

CPU_KERNEL(gru) { return rnn_run(&gru_kind, ctx, n, in, out, NULL, err); }

const cpu_kernel cpu_kernels_gru[] = {
    { .storages = CPU_DENSE,
      .run = cpu_gru,
      .workspace = gru_workspace,
      .prepack_input = prepacks_input,
      .prepack_size = gru_prepack_size,
      .prepack = gru_prepack },
    RNN_S8_KERNEL(gru, prepacks_input), /* w_ih and w_hh int8 per gate row: dynamic INT8 */
    { 0 },
};
