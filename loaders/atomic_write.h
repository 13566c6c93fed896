/* atomic_write.h — writing a whole file atomically: a temporary file beside it, fsync, then rename. */
#ifndef INFER_ATOMIC_WRITE_H
#define INFER_ATOMIC_WRITE_H

#include <stdint.h>
#include "infer.h"

typedef struct {
    const void *data;
    uint64_t size;
} write_chunk;

/* Writes the chunks, in order, to path.tmp.XXXXXX (mode 0644), fsyncs it and renames it to path; on
 * failure the temporary file is removed and path is untouched (INFER_ERR_IO naming the path). */
infer_status write_file_atomic(const char *path, const write_chunk *chunks, int n_chunks, infer_error *err);

#endif
