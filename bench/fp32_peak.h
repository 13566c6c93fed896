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

#if defined(__x86_64__)
/* 16 independent FMA chains, enough to cover the FMA latency on two ports; returns a sum so that
 * nothing is optimized away. */
__attribute__((target("avx512f"))) static float peak_avx512(long iterations) {
    __m512 acc[16], x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long n = 0; n < iterations; n++)
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    for (int i = 1; i < 16; i++) acc[0] = _mm512_add_ps(acc[0], acc[i]);
    return _mm512_reduce_add_ps(acc[0]);
}

__attribute__((target("avx2,fma"))) static float peak_avx2(long iterations) {
    __m256 acc[12], x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long n = 0; n < iterations; n++)
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
    double seconds; /* the thread's CPU time */
} peak_arg;

static double peak_thread_time(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *peak_thread(void *p) {
    peak_arg *a = p;
    double t0 = peak_thread_time();
#if defined(__x86_64__)
    a->sink = a->isa >= CPU_ISA_AVX512 ? peak_avx512(PEAK_ITERATIONS) : peak_avx2(PEAK_ITERATIONS);
#endif
    a->seconds = peak_thread_time() - t0;
    return NULL;
}

/* FLOP/s of `threads` threads running FMA chains at once, best of 3 (0 for the scalar ISA): each thread's FLOPs over
 * its own CPU time, summed, so that the host's other processes taking the cores do not lower it. */
static double fp32_peak_gflops(int isa, int threads) {
    if (isa < CPU_ISA_AVX2 || threads < 1 || threads > 64) return 0.0;
    double flops_per_thread = 2.0 * PEAK_ITERATIONS * (isa >= CPU_ISA_AVX512 ? 16 * 16 : 12 * 8), best = 0.0;
    for (int round = 0; round < 3; round++) {
        pthread_t tid[64];
        peak_arg args[64];
        for (int t = 0; t < threads; t++) {
            args[t].isa = isa;
            pthread_create(&tid[t], NULL, peak_thread, &args[t]);
        }
        double rate = 0.0;
        for (int t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            rate += flops_per_thread / args[t].seconds;
        }
        if (rate > best) best = rate;
    }
    return best * 1e-9;
}

/* The calling thread's FMA peak now (GFLOP/s over its CPU time) from a short run of the FMA chains (~0.3 ms):
 * timed next to a kernel, it gives that kernel's share of the peak at the clock the core ran at just then (this host's
 * clock moves by 20% and more between seconds). */
static inline double fp32_peak_now_gflops(int isa) {
    if (isa < CPU_ISA_AVX2) return 0.0;
    long iterations = PEAK_ITERATIONS / 64;
    volatile float sink = 0.0f;
    double t0 = peak_thread_time();
#if defined(__x86_64__)
    sink = isa >= CPU_ISA_AVX512 ? peak_avx512(iterations) : peak_avx2(iterations);
#endif
    (void)sink;
    return 2.0 * iterations * (isa >= CPU_ISA_AVX512 ? 16 * 16 : 12 * 8) / (peak_thread_time() - t0) * 1e-9;
}

#endif
