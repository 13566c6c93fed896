/* cuda_warn.h — the engine's recorded warnings: a fixed buffer of lines, each line once, a marker when full (plain C). */
#ifndef INFER_CUDA_WARN_H
#define INFER_CUDA_WARN_H

#include <stddef.h>

#define CUDA_WARN_TRUNCATED "(warnings truncated: later warnings were dropped)"

/* Appends line (without its newline) and a newline to buf (NUL-terminated, cap bytes). A line already
 * in buf is not added again. When line does not fit, CUDA_WARN_TRUNCATED is added once instead (room
 * for it is always kept) and later lines are dropped. Returns 1 when line was added. */
int cuda_warnings_add(char *buf, size_t cap, const char *line);

#endif
