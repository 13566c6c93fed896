/* checked.h — checked integer arithmetic and rounding up to an alignment, for sizes computed from a file. */
#ifndef INFER_CHECKED_H
#define INFER_CHECKED_H

#include <stddef.h>
#include <stdint.h>

/* *out = a * b (or a + b); 0 when it overflows (then *out is unspecified). */
static inline int checked_mul_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline int checked_add_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline int checked_mul_size(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline int checked_add_size(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }

/* n rounded up to a multiple of align (a power of two); SIZE_MAX when that overflows. */
static inline size_t round_up(size_t n, size_t align) {
    return n > SIZE_MAX - (align - 1) ? SIZE_MAX : (n + align - 1) & ~(align - 1);
}

#endif
