/* error.h — filling an infer_error: the one way library code reports a failure. */
#ifndef INFER_ERROR_H
#define INFER_ERROR_H

#include "infer.h"

#if defined(__GNUC__)
#define INFER_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define INFER_PRINTF(a, b)
#endif

/* Records status and a formatted message in err (which may be NULL); returns status. */
infer_status infer_fail(infer_error *err, infer_status status, const char *fmt, ...) INFER_PRINTF(3, 4);

/* Prefixes err's message with context ("loading x.ifg: ..."); returns err's status. */
infer_status infer_fail_context(infer_error *err, const char *fmt, ...) INFER_PRINTF(2, 3);

/* Returns from the calling function with expr's status unless it is INFER_OK. */
#define INFER_TRY(expr)                                    \
    do {                                                   \
        infer_status infer_try_status_ = (expr);           \
        if (infer_try_status_ != INFER_OK) return infer_try_status_; \
    } while (0)

/* Sets err to INFER_OK with an empty message. */
void infer_error_clear(infer_error *err);

#endif
