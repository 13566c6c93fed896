/* cast.c — dtype conversion between f32, f16, bf16, i64, i32, i8, u8 and bool, PyTorch's rules. */
#include <immintrin.h>
#include <string.h>
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"
#include "../../base/half.h" /* shared with the CUDA host code and bench */

#define CAST_CHUNK 512      /* elements converted through one stack buffer */
#define CAST_GRAIN 32768    /* elements per parallel task */

/* ---- f16 and bf16 bit conversions (round to nearest even) ---------------------------------- */
/* f32 -> f16 is half_from_float, bf16 both ways bf16_from_float and bf16_to_float (half.h). f16 -> f32 is
 * kept here: unlike half_to_float it quiets a signalling NaN, as F16C does. */

static float f16_bits_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, x;
    if (e == 0x1f) {
        x = sign | 0x7f800000 | (m << 13) | (m ? 0x400000 : 0); /* inf, or NaN quieted */
    } else if (e) {
        x = sign | ((e + 112) << 23) | (m << 13);
    } else {
        float f = (float)m * 0x1p-24f; /* zero or subnormal: exact */
        memcpy(&x, &f, 4);
        x |= sign;
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* F16C (present on every AVX2 CPU): 8 at a time, the tail through a padded block. */
__attribute__((target("avx,f16c"))) static void f32_to_f16_f16c(const float *x, uint16_t *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) {
        float in[8] = { 0 };
        uint16_t out[8];
        memcpy(in, x + i, (size_t)(n - i) * sizeof *x);
        _mm_storeu_si128((__m128i *)out, _mm256_cvtps_ph(_mm256_loadu_ps(in), _MM_FROUND_TO_NEAREST_INT));
        memcpy(y + i, out, (size_t)(n - i) * sizeof *y);
    }
}

__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(const uint16_t *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    if (i < n) {
        uint16_t in[8] = { 0 };
        float out[8];
        memcpy(in, x + i, (size_t)(n - i) * sizeof *x);
        _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)in)));
        memcpy(y + i, out, (size_t)(n - i) * sizeof *y);
    }
}

/* ---- loading into and storing from the chunk buffers ----------------------------------------- */

static int is_float_dtype(infer_dtype d) { return d == INFER_F32 || d == INFER_F16 || d == INFER_BF16; }

static void load_floats(const void *src, infer_dtype d, int64_t i0, int64_t n, float *buf, int f16c) {
    if (d == INFER_F32) {
        memcpy(buf, (const float *)src + i0, (size_t)n * sizeof *buf);
    } else if (d == INFER_F16 && f16c) {
        f16_to_f32_f16c((const uint16_t *)src + i0, buf, n);
    } else {
        const uint16_t *s = (const uint16_t *)src + i0;
        for (int64_t i = 0; i < n; i++) buf[i] = d == INFER_F16 ? f16_bits_to_f32(s[i]) : bf16_to_float(s[i]);
    }
}

static void load_ints(const void *src, infer_dtype d, int64_t i0, int64_t n, int64_t *buf) {
    for (int64_t i = 0; i < n; i++) buf[i] = elem_get_i64(src, d, i0 + i);
}

static void store_floats(void *dst, infer_dtype d, int64_t i0, int64_t n, const float *buf, int f16c) {
    switch (d) {
    case INFER_F32: memcpy((float *)dst + i0, buf, (size_t)n * sizeof *buf); break;
    case INFER_F16:
        if (f16c) {
            f32_to_f16_f16c(buf, (uint16_t *)dst + i0, n);
        } else {
            for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i0 + i] = half_from_float(buf[i]);
        }
        break;
    case INFER_BF16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i0 + i] = bf16_from_float(buf[i]);
        break;
    case INFER_BOOL:
        for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[i0 + i] = buf[i] != 0.0f;
        break;
    default: /* integers: truncate toward zero, then wrap to the width */
        for (int64_t i = 0; i < n; i++) elem_set_i64(dst, d, i0 + i, f64_to_i64(buf[i]));
        break;
    }
}

static void store_ints(void *dst, infer_dtype d, int64_t i0, int64_t n, const int64_t *buf, int f16c) {
    if (is_float_dtype(d)) {
        float tmp[CAST_CHUNK];
        for (int64_t i = 0; i < n; i++) tmp[i] = (float)buf[i];
        store_floats(dst, d, i0, n, tmp, f16c);
    } else {
        for (int64_t i = 0; i < n; i++) elem_set_i64(dst, d, i0 + i, buf[i]);
    }
}

typedef struct {
    const infer_tensor *x;
    infer_tensor *y;
    int f16c;
} cast_args;

static void cast_chunk(void *arg, int64_t begin, int64_t end, int thread) {
    const cast_args *A = arg;
    float fbuf[CAST_CHUNK];
    int64_t ibuf[CAST_CHUNK];
    for (int64_t i0 = begin; i0 < end; i0 += CAST_CHUNK) {
        int64_t n = end - i0 < CAST_CHUNK ? end - i0 : CAST_CHUNK;
        if (is_float_dtype(A->x->dtype)) {
            load_floats(A->x->data, A->x->dtype, i0, n, fbuf, A->f16c);
            store_floats(A->y->data, A->y->dtype, i0, n, fbuf, A->f16c);
        } else {
            load_ints(A->x->data, A->x->dtype, i0, n, ibuf);
            store_ints(A->y->data, A->y->dtype, i0, n, ibuf, A->f16c);
        }
    }
}

static int cast_dtype_supported(infer_dtype d) { return is_float_dtype(d) || elem_dtype_supported(d); }

/* y must not alias x unless the dtypes match. */
CPU_KERNEL(cast) {
    infer_dtype from = in[0].dtype, to = out[0].dtype;
    if (!cast_dtype_supported(from) || !cast_dtype_supported(to))
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "cast: %s -> %s is not supported", infer_dtype_name(from),
                          infer_dtype_name(to));
    int64_t count = infer_tensor_elements(&in[0]);
    if (infer_tensor_elements(&out[0]) != count)
        return infer_fail(err, INFER_ERR_SHAPE, "cast: output has %lld elements, input %lld",
                          (long long)infer_tensor_elements(&out[0]), (long long)count);
    if (from == to) {
        if (out[0].data != in[0].data && count) memcpy(out[0].data, in[0].data, (size_t)count * infer_dtype_size(from));
        return INFER_OK;
    }
    cast_args args = { &in[0], &out[0], ctx->isa >= CPU_ISA_AVX2 };
    pool_parallel_for(ctx->pool, count, CAST_GRAIN, cast_chunk, &args);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_cast[] = {
    { .storages = CPU_DENSE, .run = cpu_cast },
    { 0 },
};
