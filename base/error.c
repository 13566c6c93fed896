/* error.c — filling infer_error, and naming statuses. */
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
