/* isa.c — picks the best instruction set the CPU and the OS both support (cpuid + xgetbv). */
#include "cpu_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* XCR0 bits: SSE and AVX state; AVX-512 opmask, upper-256 of zmm0-15, and zmm16-31 state. */
#define XCR0_AVX_STATE 0x06u
#define XCR0_AVX512_STATE 0xE0u

static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

int cpu_detect_isa(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return CPU_ISA_SCALAR;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx || !fma) return CPU_ISA_SCALAR;
    uint64_t xcr0 = read_xcr0();
    if ((xcr0 & XCR0_AVX_STATE) != XCR0_AVX_STATE) return CPU_ISA_SCALAR;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return CPU_ISA_SCALAR;
    int avx2 = (b >> 5) & 1;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1); /* F, DQ, BW, VL */
    if (avx512 && (xcr0 & XCR0_AVX512_STATE) == XCR0_AVX512_STATE) return CPU_ISA_AVX512;
    return avx2 ? CPU_ISA_AVX2 : CPU_ISA_SCALAR;
}

#else

int cpu_detect_isa(void) { return CPU_ISA_SCALAR; }

#endif

int cpu_isa_for_option(infer_cpu_isa option) {
    int best = cpu_detect_isa();
    switch (option) {
    case INFER_CPU_ISA_AUTO: return best;
    case INFER_CPU_ISA_SCALAR: return CPU_ISA_SCALAR;
    case INFER_CPU_ISA_AVX2: return best >= CPU_ISA_AVX2 ? CPU_ISA_AVX2 : -1;
    case INFER_CPU_ISA_AVX512: return best >= CPU_ISA_AVX512 ? CPU_ISA_AVX512 : -1;
    }
    return -1;
}
