/* isa.c — picks the best instruction set the CPU and the OS both support (cpuid + xgetbv), and the
 * extensions beyond it (cpu_features.h). */
#include "cpu_kernels.h"
#include "cpu_features.h"

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

/* XCR0 bits 17 and 18: AMX tile configuration and tile data state. */
#define XCR0_AMX_STATE 0x60000u

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

/* Linux hands out the (large) tile data state only to processes that ask; asking again is harmless. */
static int amx_permitted(void) { return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0; }
#else
static int amx_permitted(void) { return 0; }
#endif

int cpu_detect_features(void) {
    unsigned a, b, c, d;
    int isa = cpu_detect_isa();
    if (isa < CPU_ISA_AVX2 || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    unsigned leaf7_c = c, leaf7_d = d, leaf7_1_a = 0;
    if (a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) leaf7_1_a = a;
    uint64_t xcr0 = read_xcr0();
    int features = 0;
    if ((leaf7_1_a >> 4) & 1) features |= CPU_FEAT_AVX_VNNI;
    if (isa >= CPU_ISA_AVX512) {
        if ((leaf7_c >> 11) & 1) features |= CPU_FEAT_AVX512_VNNI;
        if ((leaf7_1_a >> 5) & 1) features |= CPU_FEAT_AVX512_BF16;
    }
    int amx_tile = (leaf7_d >> 24) & 1, amx_int8 = (leaf7_d >> 25) & 1, amx_bf16 = (leaf7_d >> 22) & 1;
    if (amx_tile && (amx_int8 || amx_bf16) && (xcr0 & XCR0_AMX_STATE) == XCR0_AMX_STATE && amx_permitted()) {
        if (amx_int8) features |= CPU_FEAT_AMX_INT8;
        if (amx_bf16) features |= CPU_FEAT_AMX_BF16;
    }
    return features;
}

#else

int cpu_detect_isa(void) { return CPU_ISA_SCALAR; }
int cpu_detect_features(void) { return 0; }

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
