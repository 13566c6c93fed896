/* fp32_peak.h — the measured FP32 FMA peak of this CPU (GFLOP/s) for gemm_bench and conv_bench. */
#ifndef INFER_BENCH_FP32_PEAK_H
#define INFER_BENCH_FP32_PEAK_H

#include <pthread.h>
#include <time.h>
#include "../kernels/cpu/cpu_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define PEAK_ITERATIONS 4000000L

static double peak_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#if defined(__x86_64__)
/* 16 independent FMA chains, enough to cover the FMA latency on two ports; returns a sum so that
 * nothing is optimized away. */
__attribute__((target("avx512f"))) static float peak_avx512(void) {
    __m512 acc[16], x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long n = 0; n < PEAK_ITERATIONS; n++)
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    for (int i = 1; i < 16; i++) acc[0] = _mm512_add_ps(acc[0], acc[i]);
    return _mm512_reduce_add_ps(acc[0]);
}

__attribute__((target("avx2,fma"))) static float peak_avx2(void) {
    __m256 acc[12], x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long n = 0; n < PEAK_ITERATIONS; n++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    float out[8];
    for (int i = 1; i < 12; i++) acc[0] = _mm256_add_ps(acc[0], acc[i]);
    _mm256_storeu_ps(out, acc[0]);
    return out[0];
}
#endif

typedef struct {
    int isa;
    volatile float sink;
} peak_arg;

static void *peak_thread(void *p) {
    peak_arg *a = p;
#if defined(__x86_64__)
    a->sink = a->isa >= CPU_ISA_AVX512 ? peak_avx512() : peak_avx2();
#endif
    return NULL;
}

/* FLOP/s of `threads` threads running FMA chains at once, best of 3 (0 for the scalar ISA). */
static double fp32_peak_gflops(int isa, int threads) {
    if (isa < CPU_ISA_AVX2 || threads < 1 || threads > 64) return 0.0;
    double flops_per_thread = 2.0 * PEAK_ITERATIONS * (isa >= CPU_ISA_AVX512 ? 16 * 16 : 12 * 8), best = 1e9;
    for (int round = 0; round < 3; round++) {
        pthread_t tid[64];
        peak_arg args[64];
        double t0 = peak_now();
        for (int t = 0; t < threads; t++) {
            args[t].isa = isa;
            pthread_create(&tid[t], NULL, peak_thread, &args[t]);
        }
        for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
        double t = peak_now() - t0;
        if (t < best) best = t;
    }
    return flops_per_thread * threads / best * 1e-9;
}

#endif
