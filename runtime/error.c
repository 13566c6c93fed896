/* error.c — filling infer_error and naming statuses, dtypes, devices and precisions. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "error.h"

infer_status infer_fail(infer_error *err, infer_status status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

infer_status infer_fail_context(infer_error *err, const char *fmt, ...) {
    if (!err) return INFER_ERR_INTERNAL;
    char prefix[sizeof err->message], old[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    snprintf(err->message, sizeof err->message, "%.400s: %.600s", prefix, old);
    return err->status;
}

void infer_error_clear(infer_error *err) {
    if (err) {
        err->status = INFER_OK;
        err->message[0] = 0;
    }
}

const char *infer_status_name(infer_status s) {
    static const char *names[INFER_STATUS_COUNT] = {
        "ok", "bad argument", "i/o error", "bad model file", "unsupported version", "unsupported",
        "wrong shape", "wrong dtype", "out of memory", "no device", "device error", "runtime error",
        "internal error",
    };
    return (s >= 0 && s < INFER_STATUS_COUNT) ? names[s] : "unknown status";
}

const char *infer_dtype_name(infer_dtype d) {
    static const char *names[INFER_DTYPE_COUNT] = { "?", "f32", "f16", "bf16", "i8", "u8", "i32", "i64", "bool" };
    return (d > 0 && d < INFER_DTYPE_COUNT) ? names[d] : "?";
}

size_t infer_dtype_size(infer_dtype d) {
    static const size_t sizes[INFER_DTYPE_COUNT] = { 0, 4, 2, 2, 1, 1, 4, 8, 1 };
    return (d > 0 && d < INFER_DTYPE_COUNT) ? sizes[d] : 0;
}

int64_t infer_tensor_elements(const infer_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

const char *infer_device_name(infer_device d) {
    return d == INFER_DEVICE_CPU ? "cpu" : d == INFER_DEVICE_CUDA ? "cuda" : "auto";
}

const char *infer_cpu_isa_name(infer_cpu_isa isa) {
    static const char *const names[] = { "auto", "scalar", "avx2", "avx512" };
    return (unsigned)isa < sizeof names / sizeof names[0] ? names[isa] : "?";
}

const char *infer_precision_name(infer_precision p) {
    return p == INFER_PRECISION_TF32 ? "tf32" : p == INFER_PRECISION_FP16 ? "fp16" : "fp32";
}
