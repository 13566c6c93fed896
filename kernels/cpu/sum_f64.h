/* sum_f64.h — the sum of a float run in double: eight independent partial sums (exact enough, and no
 * long dependency chain), shared by reduce and layernorm. */
#ifndef INFER_CPU_SUM_F64_H
#define INFER_CPU_SUM_F64_H

#include <stdint.h>

static inline double cpu_sum_f64(const float *x, int64_t n) {
    double acc[8] = { 0 };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += x[i + j];
    for (; i < n; i++) acc[0] += x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

#endif
