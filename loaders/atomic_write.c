/* atomic_write.c — writing a whole file atomically: a temporary file beside it, fsync, then rename. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "atomic_write.h"
#include "../base/error.h"

static int write_all(int fd, const uint8_t *p, uint64_t n) {
    while (n > 0) {
        ssize_t k = write(fd, p, n > (1u << 30) ? (1u << 30) : (size_t)n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k == 0) errno = EIO;
            return 0;
        }
        p += k;
        n -= (uint64_t)k;
    }
    return 1;
}

/* Makes the rename durable; a failure here is not an error (the file itself is complete). */
static void sync_directory(const char *path) {
    char *copy = strdup(path);
    int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Writes, syncs and closes fd; 0 with errno set on failure. */
static int fill(int fd, const write_chunk *chunks, int n_chunks) {
    int ok = 1;
    for (int i = 0; ok && i < n_chunks; i++) ok = write_all(fd, chunks[i].data, chunks[i].size);
    ok = ok && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) return 0;
    errno = saved;
    return ok;
}

infer_status write_file_atomic(const char *path, const write_chunk *chunks, int n_chunks, infer_error *err) {
    if (!path || (n_chunks && !chunks)) return infer_fail(err, INFER_ERR_ARGUMENT, "write_file_atomic: NULL argument");
    size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    char *tmp = malloc(n), why[256];
    if (!tmp) return infer_fail(err, INFER_ERR_MEMORY, "out of memory saving '%s'", path);
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    infer_status st = INFER_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = infer_fail(err, INFER_ERR_IO, "cannot create a temporary file '%s': %s", tmp,
                        strerror_r(errno, why, sizeof why));
    } else if (!fill(fd, chunks, n_chunks) || rename(tmp, path) != 0) {
        st = infer_fail(err, INFER_ERR_IO, "cannot write '%s': %s", path, strerror_r(errno, why, sizeof why));
        unlink(tmp);
    } else {
        sync_directory(path);
    }
    free(tmp);
    return st;
}
