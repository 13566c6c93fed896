/* npy.c — NumPy .npy files: reading versions 1.0-3.0 and writing 1.0, little-endian C order only. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "npy.h"
#include "atomic_write.h"
#include "../base/error.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_ALIGN 64

/* The dtypes this reader maps to infer_dtype; 1-byte types carry '|' (NumPy's own) or '<'. */
static const struct {
    const char *descr;
    infer_dtype dtype;
} npy_types[] = {
    { "<f4", INFER_F32 }, { "<f2", INFER_F16 }, { "<i8", INFER_I64 }, { "<i4", INFER_I32 },
    { "|u1", INFER_U8 },  { "<u1", INFER_U8 },  { "|b1", INFER_BOOL }, { "<b1", INFER_BOOL },
    { "|i1", INFER_I8 },  { "<i1", INFER_I8 },
};

/* ---- the header dictionary ----------------------------------------------------------------- */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int accept(cursor *c, char ch) {
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int accept_word(cursor *c, const char *word) {
    size_t n = strlen(word);
    skip_space(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return 0;
    c->p += n;
    return 1;
}

/* A quoted Python string without escapes, into out (cap bytes with the NUL). */
static int parse_string(cursor *c, char *out, size_t cap) {
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char quote = *c->p++;
    size_t n = 0;
    for (; c->p < c->end && *c->p != quote; c->p++) {
        if (*c->p == '\\' || n + 1 >= cap) return 0;
        out[n++] = *c->p;
    }
    out[n] = 0;
    return accept(c, quote);
}

/* True or False. */
static int parse_bool(cursor *c, int *v) {
    if (accept_word(c, "True")) *v = 1;
    else if (accept_word(c, "False")) *v = 0;
    else return 0;
    return 1;
}

/* A tuple of non-negative ints: (), (5,), (2, 3) or (2, 3,); Python 2's "3L" is accepted. */
static int parse_shape(cursor *c, int64_t *dims, int *ndim) {
    *ndim = 0;
    if (!accept(c, '(')) return 0;
    if (accept(c, ')')) return 1;
    for (;;) {
        skip_space(c);
        if (*ndim == INFER_MAX_DIMS || c->p >= c->end || *c->p < '0' || *c->p > '9') return 0;
        int64_t v = 0;
        for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++)
            if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *c->p - '0', &v)) return 0;
        if (c->p < c->end && *c->p == 'L') c->p++;
        dims[(*ndim)++] = v;
        if (accept(c, ')')) return 1;
        if (!accept(c, ',')) return 0;
        if (accept(c, ')')) return 1;
    }
}

typedef struct {
    char descr[32];
    int fortran_order;
    int64_t dims[INFER_MAX_DIMS];
    int ndim;
} npy_header;

/* One "key: value" of the header dict into h; seen marks the keys read so far. */
static int parse_entry(cursor *c, npy_header *h, int seen[3], const char **problem) {
    static const char *keys[3] = { "descr", "fortran_order", "shape" };
    static const char *bad_value[3] = { "the header's descr is not a simple dtype string",
                                        "the header's fortran_order is not True or False",
                                        "the header's shape is not a tuple of at most 8 non-negative ints" };
    char key[32];
    if (!parse_string(c, key, sizeof key) || !accept(c, ':')) return 0;
    int which = 0;
    while (which < 3 && strcmp(key, keys[which])) which++;
    if (which == 3 || seen[which]) {
        *problem = which == 3 ? "the header has a key other than descr, fortran_order and shape"
                              : "the header repeats a key";
        return 0;
    }
    seen[which] = 1;
    int ok = which == 0 ? parse_string(c, h->descr, sizeof h->descr)
             : which == 1 ? parse_bool(c, &h->fortran_order)
                          : parse_shape(c, h->dims, &h->ndim);
    if (!ok) *problem = bad_value[which];
    return ok;
}

/* Parses {'descr': ..., 'fortran_order': ..., 'shape': ...} in any order; 0 with *problem on garbage. */
static int parse_header(const char *text, size_t n, npy_header *h, const char **problem) {
    cursor c = { text, text + n };
    int seen[3] = { 0, 0, 0 };
    *problem = "the header is not a Python dict";
    if (!accept(&c, '{')) return 0;
    while (!accept(&c, '}')) {
        if (!parse_entry(&c, h, seen, problem)) return 0;
        if (accept(&c, '}')) break;
        if (!accept(&c, ',')) return 0;
    }
    skip_space(&c);
    if (c.p != c.end) {
        *problem = "the header has bytes after its dict";
        return 0;
    }
    if (!seen[0] || !seen[1] || !seen[2]) {
        *problem = "the header lacks descr, fortran_order or shape";
        return 0;
    }
    return 1;
}

/* ---- reading ------------------------------------------------------------------------------- */

static int read_exact(int fd, void *buf, uint64_t n) {
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t k = read(fd, p, n > (1u << 30) ? (1u << 30) : (size_t)n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return 0;
        p += k;
        n -= (uint64_t)k;
    }
    return 1;
}

/* The header's dtype and element count, checked against the bytes the file holds after it. */
static infer_status check_header(const char *path, const npy_header *h, uint64_t data_bytes, infer_tensor *t,
                                 infer_error *err) {
    if (h->fortran_order)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "'%s': Fortran-order arrays are not supported (save a C-order "
                          "array, e.g. with np.ascontiguousarray)", path);
    if (h->descr[0] == '>')
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "'%s': big-endian dtype '%s' is not supported (use "
                          "arr.astype(arr.dtype.newbyteorder('<')))", path, h->descr);
    t->dtype = (infer_dtype)0;
    for (size_t i = 0; i < sizeof npy_types / sizeof *npy_types; i++)
        if (!strcmp(h->descr, npy_types[i].descr)) t->dtype = npy_types[i].dtype;
    if (!t->dtype)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "'%s': dtype '%s' is not supported (float32, float16, int64, "
                          "int32, int8, uint8 and bool are)", path, h->descr);
    uint64_t bytes = infer_dtype_size(t->dtype);
    for (int d = 0; d < h->ndim; d++)
        if (__builtin_mul_overflow(bytes, (uint64_t)h->dims[d], &bytes))
            return infer_fail(err, INFER_ERR_FORMAT, "'%s': the shape's byte size overflows 64 bits", path);
    if (bytes != data_bytes)
        return infer_fail(err, INFER_ERR_FORMAT, "'%s': the shape and dtype '%s' need %" PRIu64 " data bytes but the "
                          "file holds %" PRIu64 " (truncated or padded)", path, h->descr, bytes, data_bytes);
    t->ndim = h->ndim;
    memcpy(t->dims, h->dims, sizeof t->dims);
    return INFER_OK;
}

/* Reads the magic, version and header; leaves fd at the data. */
static infer_status read_header(int fd, const char *path, uint64_t file_size, npy_header *h, uint64_t *data_start,
                                infer_error *err) {
    uint8_t pre[12];
    if (file_size < 10 || !read_exact(fd, pre, 10) || memcmp(pre, NPY_MAGIC, 6) != 0)
        return infer_fail(err, INFER_ERR_FORMAT, "'%s' is not a .npy file (no \\x93NUMPY magic)", path);
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
        return infer_fail(err, INFER_ERR_FORMAT, "'%s': .npy format version %u.%u is not supported (1.0 to 3.0 are)",
                          path, pre[6], pre[7]);
    uint64_t header_len = (uint64_t)pre[8] | (uint64_t)pre[9] << 8, prefix = 10;
    if (pre[6] >= 2) {
        if (file_size < 12 || !read_exact(fd, pre + 10, 2))
            return infer_fail(err, INFER_ERR_FORMAT, "'%s': truncated .npy header", path);
        header_len |= (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
        prefix = 12;
    }
    if (header_len > file_size - prefix)
        return infer_fail(err, INFER_ERR_FORMAT, "'%s': the %" PRIu64 "-byte .npy header runs past the end of the "
                          "%" PRIu64 "-byte file", path, header_len, file_size);
    char *text = malloc(header_len + 1);
    if (!text) return infer_fail(err, INFER_ERR_MEMORY, "out of memory reading '%s'", path);
    const char *problem = "the header cannot be read";
    int ok = read_exact(fd, text, header_len) && parse_header(text, header_len, h, &problem);
    free(text);
    if (!ok) return infer_fail(err, INFER_ERR_FORMAT, "'%s': bad .npy header: %s", path, problem);
    *data_start = prefix + header_len;
    return INFER_OK;
}

static infer_status read_data(int fd, const char *path, infer_tensor *t, uint64_t bytes, infer_error *err) {
    t->data = malloc(bytes ? bytes : 1);
    if (!t->data) return infer_fail(err, INFER_ERR_MEMORY, "out of memory reading %" PRIu64 " bytes of '%s'", bytes, path);
    if (!read_exact(fd, t->data, bytes))
        return infer_fail(err, INFER_ERR_IO, "cannot read the data of '%s'", path);
    const uint8_t *b = t->data;
    for (uint64_t i = 0; t->dtype == INFER_BOOL && i < bytes; i++)
        if (b[i] > 1) return infer_fail(err, INFER_ERR_FORMAT, "'%s': bool element %" PRIu64 " is %u", path, i, b[i]);
    return INFER_OK;
}

infer_status npy_load(const char *path, infer_tensor *t, infer_error *err) {
    if (!path || !t) return infer_fail(err, INFER_ERR_ARGUMENT, "npy_load: a path and a tensor are required");
    memset(t, 0, sizeof *t);
    char why[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return infer_fail(err, INFER_ERR_IO, "cannot open '%s': %s", path, strerror_r(errno, why, sizeof why));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return infer_fail(err, INFER_ERR_IO, "cannot read '%s': not a regular file", path);
    }
    npy_header h;
    memset(&h, 0, sizeof h);
    uint64_t data_start = 0, size = (uint64_t)st.st_size;
    infer_status s = read_header(fd, path, size, &h, &data_start, err);
    if (s == INFER_OK) s = check_header(path, &h, size - data_start, t, err);
    if (s == INFER_OK) s = read_data(fd, path, t, size - data_start, err);
    close(fd);
    if (s != INFER_OK) npy_free(t);
    return s;
}

void npy_free(infer_tensor *t) {
    if (!t) return;
    free(t->data);
    memset(t, 0, sizeof *t);
}

/* ---- writing ----------------------------------------------------------------------------------- */

infer_status npy_save(const char *path, const infer_tensor *t, infer_error *err) {
    if (!path || !t) return infer_fail(err, INFER_ERR_ARGUMENT, "npy_save: a path and a tensor are required");
    const char *descr = NULL;
    for (size_t i = 0; i < sizeof npy_types / sizeof *npy_types && !descr; i++)
        if (npy_types[i].dtype == t->dtype) descr = npy_types[i].descr; /* the first is NumPy's spelling */
    if (!descr)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "npy_save '%s': dtype %s has no .npy equivalent", path,
                          infer_dtype_name(t->dtype));
    if (t->ndim < 0 || t->ndim > INFER_MAX_DIMS)
        return infer_fail(err, INFER_ERR_ARGUMENT, "npy_save '%s': ndim %d is outside 0..8", path, t->ndim);
    char header[512];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    uint64_t bytes = infer_dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++) {
        if (t->dims[d] < 0 || __builtin_mul_overflow(bytes, (uint64_t)t->dims[d], &bytes))
            return infer_fail(err, INFER_ERR_ARGUMENT, "npy_save '%s': bad dims[%d] %" PRId64, path, d, t->dims[d]);
        n += snprintf(header + n, sizeof header - (size_t)n, d ? ", %" PRId64 : "%" PRId64, t->dims[d]);
    }
    if (bytes && !t->data) return infer_fail(err, INFER_ERR_ARGUMENT, "npy_save '%s': the tensor has no data", path);
    n += snprintf(header + n, sizeof header - (size_t)n, "%s), }", t->ndim == 1 ? "," : "");
    int total = (10 + n + 1 + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN; /* the data starts 64-aligned */
    memset(header + n, ' ', (size_t)(total - 10 - n - 1));
    header[total - 10 - 1] = '\n';
    uint8_t prefix[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(total - 10), (uint8_t)((total - 10) >> 8) };
    const write_chunk chunks[3] = { { prefix, 10 }, { header, (uint64_t)(total - 10) }, { t->data, bytes } };
    return write_file_atomic(path, chunks, 3, err);
}
