/* cpu_features.h — instruction-set extensions beyond the CPU_ISA_* levels: int8 dot products, AMX, BF16. */
#ifndef INFER_CPU_FEATURES_H
#define INFER_CPU_FEATURES_H

/* Each bit is set only when the CPU has the extension and the OS saves its state (XCR0); AMX also
 * needs the kernel's permission for the tile data state, which cpu_detect_features() requests. */
enum {
    CPU_FEAT_AVX512_VNNI = 1 << 0, /* vpdpbusd on zmm (EVEX) */
    CPU_FEAT_AVX_VNNI = 1 << 1,    /* vpdpbusd on ymm (VEX), for CPUs without AVX-512 */
    CPU_FEAT_AMX_INT8 = 1 << 2,    /* tdpbusd tiles */
    CPU_FEAT_AVX512_BF16 = 1 << 3,
    CPU_FEAT_AMX_BF16 = 1 << 4,
};

int cpu_detect_features(void);

#endif
