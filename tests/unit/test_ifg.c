/* test_ifg.c — CRC-32, the .ifg writer and the reader: round trips in memory and through files, newer minor versions. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_ifg_util.h"

/* ---- CRC-32 ------------------------------------------------------------------------------- */

static uint32_t crc32_bitwise(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

Test(ifg_crc32, known_vectors) {
    cr_assert_eq(ifg_crc32(0, "123456789", 9), 0xCBF43926u);
    cr_assert_eq(ifg_crc32(0, "", 0), 0u);
    cr_assert_eq(ifg_crc32(0, "a", 1), 0xE8B7BE43u);
    cr_assert_eq(ifg_crc32(0, "The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
}

Test(ifg_crc32, matches_bitwise_at_odd_sizes_and_alignments) {
    test_rng r = rng_seed(7);
    uint8_t buf[4096 + 8];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)rng_u64(&r);
    const size_t sizes[] = { 1, 7, 8, 13, 15, 16, 127, 1000, 4096 };
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t off = 0; off < 8; off++)
            cr_assert_eq(ifg_crc32(0, buf + off, sizes[s]), crc32_bitwise(buf + off, sizes[s]), "size %zu offset %zu",
                         sizes[s], off);
}

Test(ifg_crc32, incremental_equals_whole) {
    test_rng r = rng_seed(8);
    uint8_t buf[1031];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)rng_u64(&r);
    uint32_t whole = ifg_crc32(0, buf, sizeof buf);
    for (size_t cut = 0; cut <= sizeof buf; cut += 97)
        cr_assert_eq(ifg_crc32(ifg_crc32(0, buf, cut), buf + cut, sizeof buf - cut), whole, "cut %zu", cut);
}

/* ---- round trip ----------------------------------------------------------------------------- */

static void check_tensor(const ifg_tensor *t, const char *name, infer_dtype dtype, int ndim, const int64_t *dims,
                         const void *data, uint64_t size) {
    cr_assert_str_eq(t->name, name);
    cr_assert_eq(t->dtype, dtype, "%s dtype", name);
    cr_assert_eq(t->ndim, ndim, "%s ndim", name);
    for (int d = 0; d < INFER_MAX_DIMS; d++) cr_assert_eq(t->dims[d], d < ndim ? dims[d] : 0, "%s dims[%d]", name, d);
    cr_assert_eq(t->encoding, IFG_ENC_DENSE);
    cr_assert_eq(t->is_constant, data != NULL, "%s kind", name);
    cr_assert_eq(t->data_size, size, "%s data_size", name);
    if (data) cr_assert(memcmp(t->data, data, size) == 0, "%s data", name);
    else cr_assert_null(t->data);
    cr_assert(t->aux[0] == IFG_NONE && t->aux[1] == IFG_NONE && t->aux[2] == IFG_NONE);
    cr_assert(t->quant_axis == 0 && t->scale == 0.0f && t->zero_point == 0 && t->block == 0);
}

static void check_ids(const uint32_t *got, uint32_t n_got, const uint32_t *want, uint32_t n_want, const char *what) {
    cr_assert_eq(n_got, n_want, "%s count", what);
    for (uint32_t i = 0; i < n_want; i++) cr_assert_eq(got[i], want[i], "%s[%u]", what, i);
}

/* Every field of the sample graph (test_ifg_util.h) as decoded. */
static void check_sample(const ifg_file *f) {
    float w[SAMPLE_N * SAMPLE_K], b[SAMPLE_N];
    uint8_t mask[SAMPLE_N];
    sample_data(w, b, mask);
    const int64_t dx[2] = { -1, SAMPLE_K }, dw[2] = { SAMPLE_N, SAMPLE_K }, db[1] = { SAMPLE_N }, dy[2] = { -1, SAMPLE_N };
    cr_assert_eq(f->version_major, 1);
    cr_assert_eq(f->n_tensors, SAMPLE_TENSORS);
    check_tensor(&f->tensors[T_X], "x", INFER_F32, 2, dx, NULL, 0);
    check_tensor(&f->tensors[T_W], "fc.weight", INFER_F32, 2, dw, w, sizeof w);
    check_tensor(&f->tensors[T_B], "fc.bias", INFER_F32, 1, db, b, sizeof b);
    check_tensor(&f->tensors[T_FC], "fc.out", INFER_F32, 2, dy, NULL, 0);
    check_tensor(&f->tensors[T_ACT], "act.out", INFER_F32, 2, dy, NULL, 0);
    check_tensor(&f->tensors[T_MASK], "mask", INFER_BOOL, 1, db, mask, sizeof mask);
    check_tensor(&f->tensors[T_Y], "y", INFER_F32, 2, dy, NULL, 0);
    for (uint32_t i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].is_constant)
            cr_assert_eq((uintptr_t)((const uint8_t *)f->tensors[i].data - f->map) % IFG_DATA_ALIGN, 0);

    cr_assert_eq(f->n_nodes, SAMPLE_NODES);
    const ifg_node *fc = &f->nodes[0], *act = &f->nodes[1], *mf = &f->nodes[2];
    const uint32_t fc_in[4] = { T_X, T_W, T_B, IFG_NONE }, fc_out[1] = { T_FC }, act_in[1] = { T_FC };
    const uint32_t act_out[1] = { T_ACT }, mf_in[2] = { T_ACT, T_MASK }, mf_out[1] = { T_Y };
    cr_assert(fc->op == OP_LINEAR && act->op == OP_ACTIVATION && mf->op == OP_MASKED_FILL);
    cr_assert_str_eq(fc->name, "fc");
    cr_assert_str_eq(act->name, "sigmoid");
    cr_assert_str_eq(mf->name, "");
    check_ids(fc->inputs, fc->n_inputs, fc_in, 4, "fc inputs");
    check_ids(fc->outputs, fc->n_outputs, fc_out, 1, "fc outputs");
    check_ids(act->inputs, act->n_inputs, act_in, 1, "act inputs");
    check_ids(act->outputs, act->n_outputs, act_out, 1, "act outputs");
    check_ids(mf->inputs, mf->n_inputs, mf_in, 2, "masked_fill inputs");
    check_ids(mf->outputs, mf->n_outputs, mf_out, 1, "masked_fill outputs");

    cr_assert_eq(fc->n_attrs, 6);
    const ifg_attr *a = ifg_node_attr(fc, "act");
    cr_assert(a && a->type == IFG_ATTR_INT && a->count == 1 && a->i == 1);
    a = ifg_node_attr(fc, "act_min");
    cr_assert(a && a->type == IFG_ATTR_FLOAT && a->f == -0.5);
    a = ifg_node_attr(fc, "note");
    cr_assert(a && a->type == IFG_ATTR_STRING);
    cr_assert_str_eq(a->s, "fc layer");
    a = ifg_node_attr(fc, "hint");
    cr_assert(a && a->type == IFG_ATTR_INTS && a->count == 3);
    for (uint32_t i = 0; i < 3; i++) cr_assert_eq(ifg_attr_int_at(a, i), sample_ints[i]);
    cr_assert_eq(ifg_attr_int_at(a, 3), 0, "past the end reads 0");
    cr_assert_eq((uintptr_t)a->values % 8, 0, "VALUES is 8-aligned in the map");
    a = ifg_node_attr(fc, "scales");
    cr_assert(a && a->type == IFG_ATTR_FLOATS && a->count == 2);
    for (uint32_t i = 0; i < 2; i++) cr_assert_eq(ifg_attr_float_at(a, i), sample_floats[i]);
    a = ifg_node_attr(fc, "empty");
    cr_assert(a && a->type == IFG_ATTR_INTS && a->count == 0);
    cr_assert_null(ifg_node_attr(fc, "missing"));
    cr_assert_null(ifg_node_attr(fc, "kind"), "attributes of other nodes are not visible");
    a = ifg_node_attr(act, "kind");
    cr_assert(act->n_attrs == 1 && a && a->i == ACT_SIGMOID);
    a = ifg_node_attr(mf, "value");
    cr_assert(mf->n_attrs == 1 && a && a->f == -1e9);

    const uint32_t gin[1] = { T_X }, gout[1] = { T_Y };
    check_ids(f->inputs, f->n_inputs, gin, 1, "graph inputs");
    check_ids(f->outputs, f->n_outputs, gout, 1, "graph outputs");
    cr_assert_eq(f->n_meta, 2);
    cr_assert_str_eq(f->meta[0].key, "converter_version");
    cr_assert_str_eq(f->meta[0].value, "test-1");
    cr_assert_str_eq(f->meta[1].key, "user.labels");
    cr_assert_str_eq(f->meta[1].value, "cat,dog,\xc3\xbcnic\xc3\xb6" "de");
}

Test(ifg, round_trip_in_memory) {
    blob b = sample_blob();
    cr_assert_eq(b.size, get64(b.bytes + H_FILE_SIZE));
    cr_assert_eq(get64(b.bytes + H_DATA_OFFSET) % 256, 0);
    ifg_file f;
    expect_loads(b, &f);
    cr_assert_eq(f.map, b.bytes);
    cr_assert_eq(f.size, b.size);
    cr_assert_eq(f.mapped, 0);
    check_sample(&f);
    ifg_close(&f);
    cr_assert(f.map == NULL && f.tensors == NULL, "close zeroes the file");
    ifg_close(&f); /* twice is harmless */
    free(b.bytes);
}

/* A fresh directory for file tests; removed with its files by remove_dir. */
static void make_dir(char *dir, size_t n) {
    snprintf(dir, n, "/tmp/infer_test_ifg.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    char path[512];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
}

Test(ifg, round_trip_through_a_file) {
    char dir[64], path[128];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.ifg", dir);
    infer_error err;
    ifg_writer *w = sample_writer();
    cr_assert_eq(ifg_writer_save(w, path, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(ifg_writer_save(w, path, &err), INFER_OK, "saving over an existing file: %s", err.message);
    ifg_writer_destroy(w);
    cr_assert_eq(count_files(dir), 1, "no temporary file is left behind");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644);

    ifg_file f;
    cr_assert_eq(ifg_open(path, &f, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(f.mapped, 1);
    cr_assert_eq(f.size, (uint64_t)st.st_size);
    check_sample(&f);
    blob b = sample_blob();
    cr_assert(b.size == f.size && memcmp(b.bytes, f.map, b.size) == 0, "file and memory images are identical");
    ifg_close(&f);
    cr_assert_null(f.map);

    /* a truncated file fails cleanly, through the file path too */
    FILE *fp = fopen(path, "wb");
    fwrite(b.bytes, 1, b.size - 1, fp);
    fclose(fp);
    memset(&f, 0xAB, sizeof f);
    cr_assert_eq(ifg_open(path, &f, &err), INFER_ERR_FORMAT);
    cr_assert(strstr(err.message, "truncated"), "%s", err.message);
    cr_assert(f.map == NULL && f.tensors == NULL && f.mapped == 0);
    fp = fopen(path, "wb");
    fclose(fp);
    cr_assert_eq(ifg_open(path, &f, &err), INFER_ERR_FORMAT, "an empty file");
    cr_assert(strstr(err.message, "0 bytes"), "%s", err.message);
    free(b.bytes);
    remove_dir(dir);
}

Test(ifg, missing_file_and_directory) {
    ifg_file f;
    infer_error err;
    memset(&f, 0xAB, sizeof f);
    cr_assert_eq(ifg_open("/nonexistent/dir/model.ifg", &f, &err), INFER_ERR_IO);
    cr_assert(strstr(err.message, "/nonexistent/dir/model.ifg") && strstr(err.message, "No such file"), "%s",
              err.message);
    cr_assert(f.map == NULL && f.tensors == NULL);
    cr_assert_eq(ifg_open("/tmp", &f, &err), INFER_ERR_IO);
    cr_assert(strstr(err.message, "not a regular file"), "%s", err.message);
}

Test(ifg, save_failure_leaves_nothing) {
    char dir[64], path[160];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/missing/model.ifg", dir);
    infer_error err;
    ifg_writer *w = sample_writer();
    cr_assert_eq(ifg_writer_save(w, path, &err), INFER_ERR_IO);
    cr_assert(strstr(err.message, "missing/model.ifg"), "%s", err.message);
    snprintf(path, sizeof path, "%s/sub", dir); /* renaming onto a non-empty directory fails: the temp is removed */
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/sub/keep", dir);
    fclose(fopen(path, "w"));
    snprintf(path, sizeof path, "%s/sub", dir);
    cr_assert_eq(ifg_writer_save(w, path, &err), INFER_ERR_IO);
    cr_assert_eq(count_files(dir), 1, "only the directory remains");
    ifg_writer_destroy(w);
    snprintf(path, sizeof path, "%s/sub/keep", dir);
    unlink(path);
    remove_dir(dir);
}

/* ---- writer ------------------------------------------------------------------------------------ */

Test(ifg_writer, refuses_bad_calls) {
    infer_error err;
    ifg_writer *w;
    uint8_t *bytes;
    uint64_t size;
    int64_t dims[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    cr_assert_eq(ifg_writer_create(&w, &err), INFER_OK);
    cr_assert_eq(ifg_writer_tensor(w, "t", INFER_F32, 9, dims, NULL, 0), IFG_NONE);
    cr_assert_eq(ifg_writer_tensor(w, "u", INFER_F32, 1, dims, NULL, 0), IFG_NONE, "later calls do nothing");
    cr_assert_eq(ifg_writer_to_memory(w, &bytes, &size, &err), INFER_ERR_ARGUMENT);
    cr_assert(strstr(err.message, "ndim 9"), "%s", err.message);
    cr_assert_null(bytes);
    ifg_writer_destroy(w);

    cr_assert_eq(ifg_writer_create(&w, &err), INFER_OK);
    ifg_writer_attr_int(w, "stride", 1);
    cr_assert_eq(ifg_writer_to_memory(w, &bytes, &size, &err), INFER_ERR_ARGUMENT);
    cr_assert(strstr(err.message, "'stride' before any node"), "%s", err.message);
    ifg_writer_destroy(w);

    cr_assert_eq(ifg_writer_create(&w, &err), INFER_OK);
    cr_assert_eq(ifg_writer_tensor(w, NULL, INFER_F32, 0, NULL, NULL, 0), IFG_NONE);
    cr_assert_eq(ifg_writer_to_memory(w, &bytes, &size, &err), INFER_ERR_ARGUMENT);
    ifg_writer_destroy(w);
}

Test(ifg_writer, strings_are_shared_and_layout_is_aligned) {
    ifg_writer *w = sample_writer();
    const int64_t d[1] = { 3 };
    ifg_writer_tensor(w, "shared", INFER_F32, 1, d, NULL, 0);
    ifg_writer_meta(w, "shared", "shared");
    blob b = writer_blob(w);
    uint8_t *s = section_of(b, IFG_SEC_STRINGS);
    const char *strings = (const char *)b.bytes + get64(s + 8);
    cr_assert_eq(strings[0], 0, "string 0 is empty");
    uint64_t n = get64(s + 16);
    int count = 0;
    for (uint64_t i = 0; i < n; i += strlen(strings + i) + 1) count += strcmp(strings + i, "shared") == 0;
    cr_assert_eq(count, 1, "a string used three times is stored once");
    cr_assert_eq(get32(entry_of(b, IFG_SEC_NODES, 2) + N_NAME), 0, "the empty node name is string 0");
    uint8_t *meta = entry_of(b, IFG_SEC_META, 2);
    cr_assert_eq(get32(meta), get32(meta + 4));
    cr_assert_eq(get32(meta), get32(entry_of(b, IFG_SEC_TENSORS, SAMPLE_TENSORS) + T_NAME));
    for (uint32_t kind = 1; kind <= 8; kind++) {
        uint8_t *e = section_of(b, kind);
        cr_assert_not_null(e, "kind %u", kind);
        cr_assert_eq(get64(e + 8) % 8, 0, "kind %u aligned", kind);
        cr_assert_lt(get64(e + 8), get64(b.bytes + H_DATA_OFFSET));
    }
    free(b.bytes);
}

/* ---- a newer minor version: wider entries, a longer header, an unknown section ------------------- */

/* Rewrites a 1.0 image as 1.3: header_size 136, every entry size grown (the extra bytes filled with
 * 0xEE), reserved fields set, and an unknown section of kind 99. Tensor data is unchanged. */
static blob upgrade_to_1_3(blob b) {
    static const uint32_t grow[9] = { 0, 0, 16, 8, 8, 4, 8, 8, 8 };
    enum { HS = 136, SECTIONS = 9 };
    uint64_t pos = HS + 32 * SECTIONS, offs[SECTIONS], sizes[SECTIONS];
    for (uint32_t kind = 1; kind <= 8; kind++) {
        uint8_t *s = section_of(b, kind);
        offs[kind - 1] = pos;
        sizes[kind - 1] = get64(s + 24) * (get32(s + 4) + grow[kind]);
        pos = (pos + sizes[kind - 1] + 7) / 8 * 8;
    }
    offs[8] = pos;
    sizes[8] = 15; /* 3 entries of 5 bytes */
    pos += sizes[8];
    uint64_t old_data = get64(b.bytes + H_DATA_OFFSET), data_size = b.size - old_data;
    uint64_t data_offset = (pos + 255) / 256 * 256;
    blob n = { calloc(1, data_offset + data_size), data_offset + data_size };
    memcpy(n.bytes, b.bytes, 128);
    memset(n.bytes + 128, 0x5A, HS - 128);
    put16(n.bytes + H_VERSION_MINOR, 3);
    put32(n.bytes + H_HEADER_SIZE, HS);
    put64(n.bytes + H_FILE_SIZE, n.size);
    put32(n.bytes + H_SECTION_COUNT, SECTIONS);
    put32(n.bytes + H_FLAGS, 0x10);
    put64(n.bytes + 32, HS);
    put64(n.bytes + H_DATA_OFFSET, data_offset);
    memset(n.bytes + 100, 0x77, 28); /* reserved header bytes */
    for (uint32_t kind = 1; kind <= 9; kind++) {
        uint8_t *e = n.bytes + HS + 32 * (kind - 1);
        uint32_t k = kind == 9 ? 99 : kind;
        uint8_t *s = kind == 9 ? NULL : section_of(b, kind);
        uint32_t old_es = s ? get32(s + 4) : 5, es = s ? old_es + grow[kind] : 5;
        uint64_t count = s ? get64(s + 24) : 3;
        put32(e, k);
        put32(e + 4, es);
        put64(e + 8, offs[kind - 1]);
        put64(e + 16, sizes[kind - 1]);
        put64(e + 24, count);
        if (!s) {
            memset(n.bytes + offs[kind - 1], 0x99, sizes[kind - 1]);
            continue;
        }
        for (uint64_t i = 0; i < count; i++) {
            uint8_t *dst = n.bytes + offs[kind - 1] + i * es;
            memcpy(dst, b.bytes + get64(s + 8) + i * old_es, old_es);
            memset(dst + old_es, 0xEE, es - old_es);
            if (kind == IFG_SEC_TENSORS) memset(dst + T_RESERVED, 0x33, 12);
        }
    }
    memcpy(n.bytes + data_offset, b.bytes + old_data, data_size);
    restamp(n);
    return n;
}

Test(ifg, newer_minor_version_loads) {
    blob b = sample_blob(), n = upgrade_to_1_3(b);
    ifg_file f;
    expect_loads(n, &f);
    cr_assert_eq(f.version_major, 1);
    cr_assert_eq(f.version_minor, 3);
    check_sample(&f); /* VALUES and IDS entries of 16 and 8 bytes are decoded to packed arrays */
    ifg_close(&f);
    /* the same reserved bytes in a 1.0 file are refused */
    put16(n.bytes + H_VERSION_MINOR, 0);
    restamp(n);
    expect_fail(n, INFER_ERR_FORMAT, "header_size");
    free(b.bytes);
    free(n.bytes);
}

/* ---- storage encodings (the loader validates them; the runtime does not run them yet) -------------- */

/* The sample plus a 4x6 CSR matrix with nnz values and its column indices and row pointers. */
static blob sample_with_csr(const int32_t *cols, int nnz, const int32_t *rowptr) {
    ifg_writer *w = sample_writer();
    float values[24];
    for (int i = 0; i < 24; i++) values[i] = 0.5f + (float)i;
    const int64_t dims[2] = { 4, 6 }, dn[1] = { nnz }, dr[1] = { 5 };
    uint32_t m = ifg_writer_tensor(w, "sparse.weight", INFER_F32, 2, dims, values, (uint64_t)nnz * 4);
    uint32_t c = ifg_writer_tensor(w, "sparse.cols", INFER_I32, 1, dn, cols, (uint64_t)nnz * 4);
    uint32_t r = ifg_writer_tensor(w, "sparse.rowptr", INFER_I32, 1, dr, rowptr, 5 * 4);
    blob b = writer_blob(w);
    uint8_t *e = entry_of(b, IFG_SEC_TENSORS, m);
    e[T_ENCODING] = IFG_ENC_CSR;
    put32(e + T_AUX, c);
    put32(e + T_AUX + 4, r);
    restamp(b);
    return b;
}

Test(ifg_encoding, csr_valid_and_corrupt) {
    const int32_t cols[5] = { 0, 5, 2, 3, 1 }, rowptr[5] = { 0, 2, 2, 4, 5 };
    blob b = sample_with_csr(cols, 5, rowptr);
    ifg_file f;
    expect_loads(b, &f);
    const ifg_tensor *t = &f.tensors[SAMPLE_TENSORS];
    cr_assert(t->encoding == IFG_ENC_CSR && t->data_size == 20 && t->aux[0] == SAMPLE_TENSORS + 1 &&
              t->aux[1] == SAMPLE_TENSORS + 2 && t->aux[2] == IFG_NONE);
    ifg_close(&f);
    free(b.bytes);

    const int32_t bad_cols[5] = { 0, 6, 2, 3, 1 };
    b = sample_with_csr(bad_cols, 5, rowptr);
    expect_fail(b, INFER_ERR_FORMAT, "column index 1 is 6, outside [0, 6)");
    free(b.bytes);
    const int32_t decreasing[5] = { 0, 3, 2, 4, 5 };
    b = sample_with_csr(cols, 5, decreasing);
    expect_fail(b, INFER_ERR_FORMAT, "row pointer 2 is 2");
    free(b.bytes);
    const int32_t short_end[5] = { 0, 2, 2, 4, 4 };
    b = sample_with_csr(cols, 5, short_end);
    expect_fail(b, INFER_ERR_FORMAT, "end at 5");
    free(b.bytes);
    const int32_t late_start[5] = { 1, 2, 2, 4, 5 };
    b = sample_with_csr(cols, 5, late_start);
    expect_fail(b, INFER_ERR_FORMAT, "row pointer 0 is 1");
    free(b.bytes);

    b = sample_with_csr(cols, 5, rowptr); /* aux of the wrong dtype */
    entry_of(b, IFG_SEC_TENSORS, SAMPLE_TENSORS + 1)[T_DTYPE] = INFER_I64;
    put64(entry_of(b, IFG_SEC_TENSORS, SAMPLE_TENSORS + 1) + T_DIMS, 2); /* 5 x i32 bytes would not be 5 i64 */
    put64(entry_of(b, IFG_SEC_TENSORS, SAMPLE_TENSORS + 1) + T_DATA_SIZE, 16);
    restamp(b);
    expect_fail(b, INFER_ERR_FORMAT, "not a dense i32 constant of 5 elements");
    free(b.bytes);

    b = sample_with_csr(cols, 5, rowptr); /* row pointers missing */
    put32(entry_of(b, IFG_SEC_TENSORS, SAMPLE_TENSORS) + T_AUX + 4, IFG_NONE);
    restamp(b);
    expect_fail(b, INFER_ERR_FORMAT, "aux1 (row pointers) is 4294967295, not a tensor id");
    free(b.bytes);

    b = sample_with_csr(cols, 5, rowptr); /* aux2 used */
    put32(entry_of(b, IFG_SEC_TENSORS, SAMPLE_TENSORS) + T_AUX + 8, 1);
    restamp(b);
    expect_fail(b, INFER_ERR_FORMAT, "uses no aux2");
    free(b.bytes);
}

Test(ifg_encoding, bsr_2x3_blocks) {
    ifg_writer *w = sample_writer();
    float values[12];
    for (int i = 0; i < 12; i++) values[i] = 1.0f + (float)i;
    const int32_t cols[2] = { 1, 0 }, rowptr[3] = { 0, 1, 2 };
    const int64_t dims[2] = { 4, 6 }, dn[1] = { 2 }, dr[1] = { 3 };
    uint32_t m = ifg_writer_tensor(w, "bsr.weight", INFER_F32, 2, dims, values, sizeof values);
    uint32_t c = ifg_writer_tensor(w, "bsr.cols", INFER_I32, 1, dn, cols, sizeof cols);
    uint32_t r = ifg_writer_tensor(w, "bsr.rowptr", INFER_I32, 1, dr, rowptr, sizeof rowptr);
    blob b = writer_blob(w);
    uint8_t *e = entry_of(b, IFG_SEC_TENSORS, m);
    e[T_ENCODING] = IFG_ENC_BSR;
    put32(e + T_AUX, c);
    put32(e + T_AUX + 4, r);
    put32(e + T_BLOCK, 2u << 16 | 3u);
    restamp(b);
    ifg_file f;
    expect_loads(b, &f);
    cr_assert_eq(f.tensors[m].block, 2u << 16 | 3u);
    ifg_close(&f);
    put32(e + T_BLOCK, 3u << 16 | 3u); /* 3 rows do not tile 4 */
    restamp(b);
    expect_fail(b, INFER_ERR_FORMAT, "block 3x3 does not tile the 4x6 2-D view");
    put32(e + T_BLOCK, 2u << 16 | 3u);
    put32(b.bytes + get64(b.bytes + H_DATA_OFFSET) + get64(entry_of(b, IFG_SEC_TENSORS, c) + T_DATA_OFFSET), 2);
    restamp(b); /* block column 2 of only 2 */
    expect_fail(b, INFER_ERR_FORMAT, "column index 0 is 2, outside [0, 2)");
    free(b.bytes);
}

Test(ifg_encoding, int8_per_channel_per_tensor_and_2_4) {
    ifg_writer *w = sample_writer();
    int8_t q[12];
    for (int i = 0; i < 12; i++) q[i] = (int8_t)(i * 7 - 40);
    float scales[3] = { 0.1f, 0.2f, 0.3f };
    int32_t zps[3] = { 0, 1, -1 };
    uint8_t meta[2] = { 0x4E, 0xE4 };
    float kept[6] = { 1, 2, 3, 4, 5, 6 };
    const int64_t d34[2] = { 3, 4 }, d3[1] = { 3 }, d2[1] = { 2 };
    uint32_t pc = ifg_writer_tensor(w, "pc.weight", INFER_F32, 2, d34, q, sizeof q);
    uint32_t s = ifg_writer_tensor(w, "pc.scales", INFER_F32, 1, d3, scales, sizeof scales);
    uint32_t z = ifg_writer_tensor(w, "pc.zero_points", INFER_I32, 1, d3, zps, sizeof zps);
    uint32_t pt = ifg_writer_tensor(w, "pt.weight", INFER_F32, 2, d34, q, sizeof q);
    uint32_t sp = ifg_writer_tensor(w, "sp.weight", INFER_F32, 2, d34, kept, sizeof kept);
    uint32_t mt = ifg_writer_tensor(w, "sp.meta", INFER_U8, 1, d2, meta, sizeof meta);
    blob b = writer_blob(w);
    uint8_t *e = entry_of(b, IFG_SEC_TENSORS, pc);
    e[T_ENCODING] = IFG_ENC_INT8_CHANNEL;
    put32(e + T_AUX, s);
    put32(e + T_AUX + 4, z);
    e = entry_of(b, IFG_SEC_TENSORS, pt);
    e[T_ENCODING] = IFG_ENC_INT8_TENSOR;
    float scale = 0.05f;
    memcpy(e + T_SCALE, &scale, 4);
    put32(e + T_ZERO_POINT, (uint32_t)-3);
    e = entry_of(b, IFG_SEC_TENSORS, sp);
    e[T_ENCODING] = IFG_ENC_SPARSE_2_4;
    put32(e + T_AUX, mt);
    restamp(b);
    ifg_file f;
    expect_loads(b, &f);
    cr_assert(f.tensors[pt].scale == 0.05f && f.tensors[pt].zero_point == -3);
    cr_assert(f.tensors[pc].quant_axis == 0 && f.tensors[pc].aux[0] == s && f.tensors[pc].aux[1] == z);
    ifg_close(&f);

    e = entry_of(b, IFG_SEC_TENSORS, pc);
    put32(e + T_QUANT_AXIS, 1); /* 4 channels along axis 1, but 3 scales */
    restamp(b);
    expect_fail(b, INFER_ERR_FORMAT, "aux0 (scales)");
    put32(e + T_QUANT_AXIS, 2);
    restamp(b);
    expect_fail(b, INFER_ERR_FORMAT, "quant_axis 2 is outside [0, 2)");
    put32(e + T_QUANT_AXIS, 0);
    e = entry_of(b, IFG_SEC_TENSORS, pt);
    put32(e + T_ZERO_POINT, 200);
    restamp(b);
    expect_fail(b, INFER_ERR_FORMAT, "zero point within [-128, 127]");
    put32(e + T_ZERO_POINT, 0);
    put64(entry_of(b, IFG_SEC_TENSORS, mt) + T_DIMS, 1); /* 12 elements need 2 metadata bytes */
    put64(entry_of(b, IFG_SEC_TENSORS, mt) + T_DATA_SIZE, 1);
    restamp(b);
    expect_fail(b, INFER_ERR_FORMAT, "aux0 (metadata)");
    free(b.bytes);
}
