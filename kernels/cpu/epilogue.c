/* epilogue.c — cpu_apply_epilogue: bias, residual and activation applied to a block of C in place. */
#include "cpu_kernels.h"

void cpu_apply_epilogue(float *C, int64_t rows, int64_t cols, int64_t ldc, const gemm_epilogue *ep, int64_t row0,
                        int64_t col0) {
    if (!ep) return;
    act_params act = ep->act;
    for (int64_t i = 0; i < rows; i++) {
        float *c = C + i * ldc;
        if (ep->bias && ep->bias_per_row) {
            float b = ep->bias[row0 + i];
            for (int64_t j = 0; j < cols; j++) c[j] += b;
        } else if (ep->bias) {
            const float *b = ep->bias + col0;
            for (int64_t j = 0; j < cols; j++) c[j] += b[j];
        }
        if (ep->residual) {
            const float *r = ep->residual + (row0 + i) * ep->ld_residual + col0;
            for (int64_t j = 0; j < cols; j++) c[j] += r[j];
        }
        switch (act.kind) {
        case ACT_NONE: break;
        case ACT_RELU:
            for (int64_t j = 0; j < cols; j++) c[j] = c[j] > 0.0f ? c[j] : 0.0f;
            break;
        default:
            for (int64_t j = 0; j < cols; j++) c[j] = act_apply(&act, c[j]);
            break;
        }
    }
}
