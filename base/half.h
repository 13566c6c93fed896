/* half.h — IEEE half and bfloat16 <-> float conversion on the host (round to nearest even), plain C. */
#ifndef INFER_HALF_H
#define INFER_HALF_H

#include <stdint.h>
#include <math.h>
#include <string.h>

static inline uint16_t half_from_float(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7FFFFFFFu;
    if (absx >= 0x7F800000u) /* inf or NaN */
        return (uint16_t)(sign | 0x7C00u | (absx > 0x7F800000u ? 0x200u | ((absx >> 13) & 0x3FFu) : 0));
    if (absx >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* rounds to >= 65520: inf */
    if (absx < 0x38800000u) {                                   /* subnormal half or zero */
        if (absx < 0x33000000u) return (uint16_t)sign;          /* below half the smallest subnormal */
        uint32_t mant = (absx & 0x7FFFFFu) | 0x800000u;
        uint32_t drop = 126u - (absx >> 23); /* value = mant * 2^(exp - 150) = q * 2^-24 */
        uint32_t q = mant >> drop, rem = mant & ((1u << drop) - 1), halfway = 1u << (drop - 1);
        if (rem > halfway || (rem == halfway && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t e = (absx >> 23) - 112, mant = absx & 0x7FFFFFu;
    uint32_t h = (e << 10) | (mant >> 13), rem = mant & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* may carry into the exponent: correct */
    return (uint16_t)(sign | h);
}

static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, mant = h & 0x3FFu, x;
    if (e == 0) {
        if (mant == 0) x = sign;
        else { /* subnormal: normalize */
            int s = 0;
            while (!(mant & 0x400u)) {
                mant <<= 1;
                s++;
            }
            x = sign | ((uint32_t)(113 - s) << 23) | ((mant & 0x3FFu) << 13);
        }
    } else if (e == 31) {
        x = sign | 0x7F800000u | (mant << 13);
    } else {
        x = sign | ((e + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* What every FP16 store of the CUDA backend does (weights, device kernels, the CPU fallback): finite values
 * beyond the half range saturate to +-65504 (a -1e9 mask stays finite); inf and NaN are kept. */
static inline uint16_t half_from_float_sat(float f) {
    if (f > 65504.0f && f < INFINITY) return 0x7BFFu;
    if (f < -65504.0f && f > -INFINITY) return 0xFBFFu;
    return half_from_float(f);
}

/* bfloat16: the top 16 bits of a float, rounded to nearest even; NaN stays a quiet NaN. */
static inline uint16_t bf16_from_float(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(((x >> 16) & 0x8000u) | 0x7fc0u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

static inline float bf16_to_float(uint16_t h) {
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

#endif
