/* epilogue_vec.h — vectorized epilogue (bias, residual, every act), instantiated by epilogue.c once per
 * vector width: VW lanes, function names made by VNAME(), sigmoid and SiLU by VSIGMOID() and VSILU(); included
 * nowhere else. */

#ifndef VSIGMOID /* the includer may give its own (epilogue.c: AVX-512 without a division) */
#define VSIGMOID(x) (1.0f / VNAME(sigmoid_den)(x))
#define VSILU(x) ((x) / VNAME(sigmoid_den)(x))
#define VSIGMOID_DEFAULT
#endif

#define vf VNAME(vf)
#define vi VNAME(vi)
typedef float vf __attribute__((vector_size(VW * 4)));
typedef int32_t vi __attribute__((vector_size(VW * 4)));

static inline vf VNAME(load)(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void VNAME(store)(float *p, vf v) { memcpy(p, &v, sizeof v); }

static inline vf VNAME(splat)(float x) { return (vf){ 0 } + x; }

static inline vf VNAME(select)(vi mask, vf a, vf b) { return (vf)(((vi)a & mask) | ((vi)b & ~mask)); }

/* exp(x) = 2^n · p(r) with x = n·ln2 + r, |r| <= ln2/2; 0 below ln(FLT_MIN), clamped at 88.7; NaN stays. */
static inline vf VNAME(exp)(vf x) {
    vi tiny = x < -87.33654f;
    x = VNAME(select)(x > 88.7f, VNAME(splat)(88.7f), x);
    x = VNAME(select)(tiny, VNAME(splat)(0.0f), x);
    vf n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    vf r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    vf p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + (r + 1.0f);
    vi e = (__builtin_convertvector(n, vi) + 127) << 23;
    return VNAME(select)(tiny, VNAME(splat)(0.0f), p * (vf)e);
}

/* tanh: an odd polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) above, with x's sign. */
static inline vf VNAME(tanh)(vf x) {
    vi sign = (vi)x & (int32_t)0x80000000;
    vf a = (vf)((vi)x & 0x7FFFFFFF);
    vf z = x * x;
    vf poly = (((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
              3.33332819422e-1f;
    vf small = poly * z * x + x;
    vf large = (vf)((vi)(1.0f - 2.0f / (VNAME(exp)(a + a) + 1.0f)) | sign);
    return VNAME(select)(a < 0.625f, small, large);
}

static inline vf VNAME(sigmoid_den)(vf x) { return 1.0f + VNAME(exp)(-x); }

/* 0.5·x·(1 + erf(x/√2)) through erfc (fractional error < 1.2e-7), which keeps x < 0 accurate. */
static inline vf VNAME(gelu)(vf x) {
    vf z = (vf)((vi)x & 0x7FFFFFFF) * 0.70710678118654752f;
    vf t = 1.0f / (1.0f + 0.5f * z);
    vf poly = t * (-0.82215223f + t * 0.17087277f) + 1.48851587f;
    poly = t * poly - 1.13520398f;
    poly = t * poly + 0.27886807f;
    poly = t * poly - 0.18628806f;
    poly = t * poly + 0.09678418f;
    poly = t * poly + 0.37409196f;
    poly = t * poly + 1.00002368f;
    poly = t * poly - 1.26551223f;
    vf erfc = t * VNAME(exp)(poly - z * z);
    return VNAME(select)(x >= 0.0f, x * (1.0f - 0.5f * erfc), 0.5f * x * erfc);
}

static inline vf VNAME(act)(const act_params *act, vf x) {
    vf zero = VNAME(splat)(0.0f);
    switch (act->kind) {
    case ACT_RELU: return VNAME(select)(x > 0.0f, x, zero);
    case ACT_CLIP:
        return VNAME(select)(x < act->min, VNAME(splat)(act->min),
                             VNAME(select)(x > act->max, VNAME(splat)(act->max), x));
    case ACT_GELU: return VNAME(gelu)(x);
    case ACT_GELU_TANH: return 0.5f * x * (1.0f + VNAME(tanh)(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case ACT_SILU: return VSILU(x);
    case ACT_SIGMOID: return VSIGMOID(x);
    case ACT_TANH: return VNAME(tanh)(x);
    case ACT_HARDSWISH:
    case ACT_HARDSIGMOID: {
        vf t = x + 3.0f;
        t = VNAME(select)(t > 0.0f, t, zero);
        t = VNAME(select)(t < 6.0f, t, VNAME(splat)(6.0f));
        return act->kind == ACT_HARDSWISH ? x * t / 6.0f : t / 6.0f;
    }
    default: return x;
    }
}

/* c[j] = act(c[j] + bias_col[j] (or + bias_row) + res[j]) for j < n; absent terms are NULL. */
static void VNAME(row)(float *c, int64_t n, const float *bias_col, const float *bias_row, const float *res,
                       const act_params *act) {
    int64_t j = 0;
    for (; j + VW <= n; j += VW) {
        vf v = VNAME(load)(c + j);
        if (bias_col) v += VNAME(load)(bias_col + j);
        else if (bias_row) v += *bias_row;
        if (res) v += VNAME(load)(res + j);
        VNAME(store)(c + j, VNAME(act)(act, v));
    }
    if (j < n) { /* the tail through a full-width buffer, so that it gets the same math */
        float buf[VW] = { 0 };
        for (int64_t q = j; q < n; q++) {
            float v = c[q];
            if (bias_col) v += bias_col[q];
            else if (bias_row) v += *bias_row;
            if (res) v += res[q];
            buf[q - j] = v;
        }
        VNAME(store)(buf, VNAME(act)(act, VNAME(load)(buf)));
        memcpy(c + j, buf, (size_t)(n - j) * sizeof *c);
    }
}

static void VNAME(rows)(float *C, int64_t rows, int64_t cols, int64_t ldc, const gemm_epilogue *ep, int64_t row0,
                        int64_t col0) {
    const float *bias_col = ep->bias && !ep->bias_per_row ? ep->bias + col0 : NULL;
    for (int64_t i = 0; i < rows; i++) {
        const float *bias_row = ep->bias && ep->bias_per_row ? ep->bias + row0 + i : NULL;
        const float *res = ep->residual ? ep->residual + (row0 + i) * ep->ld_residual + col0 : NULL;
        VNAME(row)(C + i * ldc, cols, bias_col, bias_row, res, &ep->act);
    }
}

/* y[j] = act(x[j]) for j < n (y may alias x): the standalone activation op. */
static void VNAME(act_row)(const float *x, float *y, int64_t n, const act_params *act) {
    int64_t j = 0;
    for (; j + VW <= n; j += VW) VNAME(store)(y + j, VNAME(act)(act, VNAME(load)(x + j)));
    if (j < n) { /* the tail through a full-width buffer, so that it gets the same math */
        float buf[VW] = { 0 };
        memcpy(buf, x + j, (size_t)(n - j) * sizeof *x);
        VNAME(store)(buf, VNAME(act)(act, VNAME(load)(buf)));
        memcpy(y + j, buf, (size_t)(n - j) * sizeof *y);
    }
}

#undef vf
#undef vi
#ifdef VSIGMOID_DEFAULT
#undef VSIGMOID
#undef VSILU
#undef VSIGMOID_DEFAULT
#endif
