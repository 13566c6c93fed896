/* test_npy.c — .npy reading (versions 1.0-3.0, header variants, refusals) and writing (round trips, NumPy's layout). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>
#include "testutil.h"
#include "../../loaders/npy.h"

static char npy_dir[64];

static void make_dir(void) {
    snprintf(npy_dir, sizeof npy_dir, "/tmp/infer_test_npy.XXXXXX");
    cr_assert_not_null(mkdtemp(npy_dir));
}

static void remove_dir(void) {
    DIR *d = opendir(npy_dir);
    char path[512];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", npy_dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(npy_dir);
}

TestSuite(npy, .init = make_dir, .fini = remove_dir);

static const char *file_path(const char *name) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", npy_dir, name);
    return path;
}

static void write_bytes(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static size_t read_bytes(const char *path, uint8_t *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* A file of the given version (1: u16 length, 2 and 3: u32) with header text and data. */
static const char *npy_file(const char *name, int version, const char *header, const void *data, size_t n) {
    uint8_t buf[4096];
    size_t h = strlen(header), pre = version == 1 ? 10 : 12;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)version;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) buf[8 + i] = (uint8_t)(h >> 8 * i);
    memcpy(buf + pre, header, h);
    memcpy(buf + pre + h, data, n);
    const char *path = file_path(name);
    write_bytes(path, buf, pre + h + n);
    return path;
}

static void expect_refused(const char *path, infer_status status, const char *fragment) {
    infer_tensor t;
    infer_error err;
    cr_assert_eq(npy_load(path, &t, &err), status, "%s", err.message);
    cr_assert(strstr(err.message, fragment), "message '%s' lacks '%s'", err.message, fragment);
    cr_assert(strstr(err.message, npy_dir), "message '%s' names no file", err.message);
    cr_assert_null(t.data);
}

/* ---- round trips ----------------------------------------------------------------------------- */

static void round_trip(infer_dtype dtype, int ndim, const int64_t *dims, const char *shape_text) {
    infer_tensor t = tview(dtype, NULL, ndim, dims);
    int64_t n = infer_tensor_elements(&t);
    size_t bytes = (size_t)n * infer_dtype_size(dtype);
    uint8_t *data = malloc(bytes + 1);
    test_rng r = rng_seed((uint64_t)dtype * 31 + (uint64_t)ndim);
    for (size_t i = 0; i < bytes; i++) data[i] = (uint8_t)(dtype == INFER_BOOL ? rng_u64(&r) % 2 : rng_u64(&r) | 1);
    t.data = data;
    infer_error err;
    const char *path = file_path("round.npy");
    cr_assert_eq(npy_save(path, &t, &err), INFER_OK, "%s", err.message);

    uint8_t file[4096];
    size_t size = read_bytes(path, file, sizeof file);
    size_t header_len = file[8] | (size_t)file[9] << 8;
    cr_assert(file[6] == 1 && file[7] == 0, "written as version 1.0");
    cr_assert_eq((10 + header_len) % 64, 0, "data starts at a multiple of 64");
    cr_assert_eq(size, 10 + header_len + bytes);
    cr_assert_eq(file[10 + header_len - 1], '\n');
    char header[512] = { 0 };
    memcpy(header, file + 10, header_len);
    cr_assert(strstr(header, shape_text), "header '%s' lacks '%s'", header, shape_text);

    infer_tensor back;
    cr_assert_eq(npy_load(path, &back, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(back.dtype, dtype);
    cr_assert_eq(back.ndim, ndim);
    for (int d = 0; d < ndim; d++) cr_assert_eq(back.dims[d], dims[d]);
    cr_assert(memcmp(back.data, data, bytes) == 0, "data of %s", infer_dtype_name(dtype));
    npy_free(&back);
    cr_assert_null(back.data);
    free(data);
}

Test(npy, round_trip_every_dtype_and_rank) {
    const infer_dtype dtypes[] = { INFER_F32, INFER_F16, INFER_I64, INFER_I32, INFER_I8, INFER_U8, INFER_BOOL };
    const int64_t d0[1] = { 0 }, d1[1] = { 7 }, d3[3] = { 2, 13, 3 }, d8[8] = { 1, 2, 1, 3, 1, 1, 2, 1 };
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++) {
        round_trip(dtypes[i], 0, d0, "'shape': ()");
        round_trip(dtypes[i], 1, d1, "'shape': (7,)");
        round_trip(dtypes[i], 3, d3, "'shape': (2, 13, 3)");
        round_trip(dtypes[i], 8, d8, "'shape': (1, 2, 1, 3, 1, 1, 2, 1)");
        round_trip(dtypes[i], 1, d0, "'shape': (0,)");
    }
}

Test(npy, writes_what_numpy_writes) {
    /* np.save of np.arange(6, dtype=np.float32).reshape(2, 3) */
    const char *header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    uint8_t expect[128 + 24];
    memcpy(expect, "\x93NUMPY\x01\x00\x76\x00", 10);
    memset(expect + 10, ' ', 118);
    memcpy(expect + 10, header, strlen(header));
    expect[127] = '\n';
    float data[6] = { 0, 1, 2, 3, 4, 5 };
    memcpy(expect + 128, data, sizeof data);
    const int64_t dims[2] = { 2, 3 };
    infer_tensor t = tview(INFER_F32, data, 2, dims);
    infer_error err;
    cr_assert_eq(npy_save(file_path("np.npy"), &t, &err), INFER_OK, "%s", err.message);
    uint8_t got[256];
    cr_assert_eq(read_bytes(file_path("np.npy"), got, sizeof got), sizeof expect);
    cr_assert(memcmp(got, expect, sizeof expect) == 0);
}

Test(npy, refuses_what_it_cannot_write) {
    const int64_t dims[1] = { 2 };
    uint16_t v[2] = { 1, 2 };
    infer_tensor t = tview(INFER_BF16, v, 1, dims);
    infer_error err;
    cr_assert_eq(npy_save(file_path("bf16.npy"), &t, &err), INFER_ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, "bf16"), "%s", err.message);
    t = tview(INFER_F32, NULL, 1, dims);
    cr_assert_eq(npy_save(file_path("null.npy"), &t, &err), INFER_ERR_ARGUMENT);
    cr_assert_eq(access(file_path("null.npy"), F_OK), -1, "nothing written");
}

/* ---- header variants ------------------------------------------------------------------------- */

static void expect_f32_2x2(const char *path, const float *want) {
    infer_tensor t;
    infer_error err;
    cr_assert_eq(npy_load(path, &t, &err), INFER_OK, "%s", err.message);
    cr_assert(t.dtype == INFER_F32 && t.ndim == 2 && t.dims[0] == 2 && t.dims[1] == 2);
    cr_assert(memcmp(t.data, want, 16) == 0);
    npy_free(&t);
}

Test(npy, versions_2_and_3_and_header_variants) {
    const float v[4] = { 1.5f, -2.0f, 3.25f, 4.0f };
    expect_f32_2x2(npy_file("v2.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }    \n", v, 16), v);
    expect_f32_2x2(npy_file("v3.npy", 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), } \n", v, 16), v);
    expect_f32_2x2(npy_file("order.npy", 1, "{ 'shape' : ( 2 ,2 ) , \"descr\":'<f4','fortran_order':False}\n", v, 16), v);
    expect_f32_2x2(npy_file("long.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 2L)}", v, 16), v);

    const int32_t i = -7;
    infer_tensor t;
    infer_error err;
    cr_assert_eq(npy_load(npy_file("scalar.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }\n", &i, 4),
                          &t, &err), INFER_OK, "%s", err.message);
    cr_assert(t.dtype == INFER_I32 && t.ndim == 0 && *(int32_t *)t.data == -7);
    npy_free(&t);
    const uint8_t u[3] = { 1, 200, 3 };
    cr_assert_eq(npy_load(npy_file("u1.npy", 1, "{'descr': '<u1', 'fortran_order': False, 'shape': (3,), }\n", u, 3),
                          &t, &err), INFER_OK, "%s", err.message);
    cr_assert(t.dtype == INFER_U8 && t.ndim == 1 && t.dims[0] == 3 && ((uint8_t *)t.data)[1] == 200);
    npy_free(&t);
}

/* ---- refusals ----------------------------------------------------------------------------------- */

Test(npy, refuses_unsupported_arrays) {
    const float v[4] = { 1, 2, 3, 4 };
    expect_refused(npy_file("f.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", v, 16),
                   INFER_ERR_UNSUPPORTED, "Fortran-order arrays are not supported");
    expect_refused(npy_file("be.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }\n", v, 16),
                   INFER_ERR_UNSUPPORTED, "big-endian dtype '>f4'");
    expect_refused(npy_file("c8.npy", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }\n", v, 16),
                   INFER_ERR_UNSUPPORTED, "dtype '<c8' is not supported");
    expect_refused(npy_file("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", v, 16),
                   INFER_ERR_UNSUPPORTED, "dtype '<f8'");
}

Test(npy, refuses_corrupt_files) {
    const float v[5] = { 1, 2, 3, 4, 5 };
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n";
    expect_refused(npy_file("short.npy", 1, ok, v, 15), INFER_ERR_FORMAT, "need 16 data bytes but the file holds 15");
    expect_refused(npy_file("extra.npy", 1, ok, v, 17), INFER_ERR_FORMAT, "the file holds 17 (truncated or padded)");
    expect_refused(npy_file("garbage.npy", 1, "hello world", v, 16), INFER_ERR_FORMAT,
                   "bad .npy header: the header is not a Python dict");
    expect_refused(npy_file("nokey.npy", 1, "{'descr': '<f4', 'shape': (2, 2)}", v, 16), INFER_ERR_FORMAT,
                   "lacks descr, fortran_order or shape");
    expect_refused(npy_file("dup.npy", 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", v,
                            16), INFER_ERR_FORMAT, "repeats a key");
    expect_refused(npy_file("extra_key.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", v,
                            16), INFER_ERR_FORMAT, "a key other than descr");
    expect_refused(npy_file("neg.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, -2)}", v, 16),
                   INFER_ERR_FORMAT, "shape is not a tuple of at most 8 non-negative ints");
    expect_refused(npy_file("nine.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,4)}", v,
                            16), INFER_ERR_FORMAT, "at most 8");
    expect_refused(npy_file("huge.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                            v, 16), INFER_ERR_FORMAT, "shape is not a tuple");
    expect_refused(npy_file("ovf.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, "
                            "4611686018427387904)}", v, 16), INFER_ERR_FORMAT, "byte size overflows");
    expect_refused(npy_file("tail.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} x", v, 16),
                   INFER_ERR_FORMAT, "bytes after its dict");
    expect_refused(npy_file("bool.npy", 1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,)}", v, 16),
                   INFER_ERR_FORMAT, "fortran_order is not True or False");
    expect_refused(npy_file("quote.npy", 1, "{'descr': '<f4, 'fortran_order': False, 'shape': (4,)}", v, 16),
                   INFER_ERR_FORMAT, "bad .npy header");
    const uint8_t two[3] = { 1, 2, 0 };
    expect_refused(npy_file("b1.npy", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n", two, 3),
                   INFER_ERR_FORMAT, "bool element 1 is 2");

    uint8_t raw[64] = "\x93NUMPY\x04\x00\x10\x00";
    write_bytes(file_path("v4.npy"), raw, 40);
    expect_refused(file_path("v4.npy"), INFER_ERR_FORMAT, ".npy format version 4.0 is not supported");
    raw[6] = 1;
    raw[9] = 0x13; /* a 4880-byte header in a 40-byte file */
    write_bytes(file_path("len.npy"), raw, 40);
    expect_refused(file_path("len.npy"), INFER_ERR_FORMAT, "runs past the end");
    raw[6] = 2;
    write_bytes(file_path("v2short.npy"), raw, 11);
    expect_refused(file_path("v2short.npy"), INFER_ERR_FORMAT, "truncated .npy header");
    write_bytes(file_path("magic.npy"), "\x93NUMPX\x01\x00\x00\x00", 10);
    expect_refused(file_path("magic.npy"), INFER_ERR_FORMAT, "is not a .npy file");
    write_bytes(file_path("tiny.npy"), "\x93NUM", 4);
    expect_refused(file_path("tiny.npy"), INFER_ERR_FORMAT, "is not a .npy file");
    expect_refused(file_path("missing.npy"), INFER_ERR_IO, "No such file");
}
