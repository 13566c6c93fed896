/* cuda_warn.c — the engine's recorded warnings: a fixed buffer of lines, each line once, a marker when full. */
#include <string.h>
#include "cuda_warn.h"

static int has_line(const char *buf, const char *line, size_t len) {
    for (const char *p = buf; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n == len && memcmp(p, line, len) == 0) return 1;
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}

int cuda_warnings_add(char *buf, size_t cap, const char *line) {
    size_t marker = sizeof CUDA_WARN_TRUNCATED; /* its text and a newline */
    if (!buf || cap <= marker + 1) return 0;
    size_t used = strlen(buf), len = strcspn(line, "\n"); /* one line: anything after a newline is dropped */
    if (has_line(buf, CUDA_WARN_TRUNCATED, marker - 1)) return 0;
    if (has_line(buf, line, len)) return 0;
    if (used + len + 2 + marker > cap) { /* the line, its newline, the NUL, and room left for the marker */
        if (used + marker + 1 <= cap) {
            memcpy(buf + used, CUDA_WARN_TRUNCATED "\n", marker + 1);
        }
        return 0;
    }
    memcpy(buf + used, line, len);
    buf[used + len] = '\n';
    buf[used + len + 1] = 0;
    return 1;
}
