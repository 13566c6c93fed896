/* test_ifg_util.h — helpers of the .ifg tests: a sample graph, finding and patching entries, re-stamping CRCs. */
#ifndef INFER_TEST_IFG_UTIL_H
#define INFER_TEST_IFG_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include "testutil.h"
#include "../../loaders/ifg.h"
#include "../../base/ops.h"

/* Field offsets straight from docs/FORMAT.md, independent of the loader's own constants. */
enum { H_VERSION_MAJOR = 8, H_VERSION_MINOR = 10, H_HEADER_SIZE = 12, H_FILE_SIZE = 16, H_SECTION_COUNT = 24,
       H_FLAGS = 28, H_DATA_OFFSET = 40, H_DATA_SIZE = 48, H_META_CRC = 56, H_DATA_CRC = 60 };
enum { T_NAME = 0, T_DTYPE = 4, T_ENCODING = 5, T_NDIM = 6, T_KIND = 7, T_DIMS = 8, T_DATA_OFFSET = 72,
       T_DATA_SIZE = 80, T_AUX = 88, T_QUANT_AXIS = 100, T_SCALE = 104, T_ZERO_POINT = 108, T_BLOCK = 112,
       T_RESERVED = 116 };
enum { N_OP = 0, N_RESERVED = 2, N_NAME = 4, N_INPUTS = 8, N_INPUT_COUNT = 12, N_OUTPUTS = 16, N_OUTPUT_COUNT = 20,
       N_ATTRS = 24, N_ATTR_COUNT = 28 };
enum { A_KEY = 0, A_TYPE = 4, A_COUNT = 8, A_VALUE = 16 };

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static inline uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static inline void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> 8 * i); }

typedef struct {
    uint8_t *bytes;
    uint64_t size;
} blob;

/* Tensors of the sample graph: y = masked_fill(sigmoid(linear(x, w, b)), mask, -1e9). */
enum { T_X, T_W, T_B, T_FC, T_ACT, T_MASK, T_Y, SAMPLE_TENSORS };
enum { SAMPLE_NODES = 3, SAMPLE_K = 7, SAMPLE_N = 5 };

static const int64_t sample_ints[3] = { 1, -2, 3 };
static const double sample_floats[2] = { 0.5, -0.25 };

/* The sample's constant data, seeded (never all zero). */
static inline void sample_data(float *w, float *b, uint8_t *mask) {
    test_rng r = rng_seed(42);
    rng_fill(&r, w, SAMPLE_N * SAMPLE_K, -1.0f, 1.0f);
    rng_fill(&r, b, SAMPLE_N, -1.0f, 1.0f);
    for (int i = 0; i < SAMPLE_N; i++) mask[i] = (uint8_t)(i % 2);
}

static inline ifg_writer *sample_writer(void) {
    infer_error err;
    ifg_writer *w;
    cr_assert_eq(ifg_writer_create(&w, &err), INFER_OK);
    float wd[SAMPLE_N * SAMPLE_K], bd[SAMPLE_N];
    uint8_t mask[SAMPLE_N];
    sample_data(wd, bd, mask);
    const int64_t dx[2] = { -1, SAMPLE_K }, dw[2] = { SAMPLE_N, SAMPLE_K }, db[1] = { SAMPLE_N }, dy[2] = { -1, SAMPLE_N };
    cr_assert_eq(ifg_writer_tensor(w, "x", INFER_F32, 2, dx, NULL, 0), T_X);
    cr_assert_eq(ifg_writer_tensor(w, "fc.weight", INFER_F32, 2, dw, wd, sizeof wd), T_W);
    cr_assert_eq(ifg_writer_tensor(w, "fc.bias", INFER_F32, 1, db, bd, sizeof bd), T_B);
    cr_assert_eq(ifg_writer_tensor(w, "fc.out", INFER_F32, 2, dy, NULL, 0), T_FC);
    cr_assert_eq(ifg_writer_tensor(w, "act.out", INFER_F32, 2, dy, NULL, 0), T_ACT);
    cr_assert_eq(ifg_writer_tensor(w, "mask", INFER_BOOL, 1, db, mask, sizeof mask), T_MASK);
    cr_assert_eq(ifg_writer_tensor(w, "y", INFER_F32, 2, dy, NULL, 0), T_Y);
    const uint32_t fc_in[4] = { T_X, T_W, T_B, IFG_NONE }, fc_out[1] = { T_FC };
    const uint32_t act_in[1] = { T_FC }, act_out[1] = { T_ACT }, mf_in[2] = { T_ACT, T_MASK }, mf_out[1] = { T_Y };
    cr_assert_eq(ifg_writer_node(w, OP_LINEAR, "fc", fc_in, 4, fc_out, 1), 0);
    ifg_writer_attr_int(w, "act", 1);
    ifg_writer_attr_float(w, "act_min", -0.5);
    ifg_writer_attr_string(w, "note", "fc layer");
    ifg_writer_attr_ints(w, "hint", sample_ints, 3);
    ifg_writer_attr_floats(w, "scales", sample_floats, 2);
    ifg_writer_attr_ints(w, "empty", NULL, 0);
    cr_assert_eq(ifg_writer_node(w, OP_ACTIVATION, "sigmoid", act_in, 1, act_out, 1), 1);
    ifg_writer_attr_int(w, "kind", ACT_SIGMOID);
    cr_assert_eq(ifg_writer_node(w, OP_MASKED_FILL, "", mf_in, 2, mf_out, 1), 2);
    ifg_writer_attr_float(w, "value", -1e9);
    const uint32_t gin[1] = { T_X }, gout[1] = { T_Y };
    ifg_writer_graph(w, gin, 1, gout, 1);
    ifg_writer_meta(w, "converter_version", "test-1");
    ifg_writer_meta(w, "user.labels", "cat,dog,\xc3\xbcnic\xc3\xb6" "de");
    return w;
}

static inline blob writer_blob(ifg_writer *w) {
    infer_error err;
    blob b;
    infer_status st = ifg_writer_to_memory(w, &b.bytes, &b.size, &err);
    cr_assert_eq(st, INFER_OK, "%s", err.message);
    ifg_writer_destroy(w);
    return b;
}

static inline blob sample_blob(void) { return writer_blob(sample_writer()); }

/* An exactly sized copy of the first size bytes, so that ASan catches any read past the end. */
static inline blob blob_prefix(blob b, uint64_t size) {
    blob c = { malloc(size ? size : 1), size };
    memcpy(c.bytes, b.bytes, size);
    return c;
}

/* Section table entry of a kind (the first such entry), or NULL. */
static inline uint8_t *section_of(blob b, uint32_t kind) {
    uint32_t n = get32(b.bytes + H_SECTION_COUNT), hs = get32(b.bytes + H_HEADER_SIZE);
    for (uint32_t i = 0; i < n; i++)
        if (get32(b.bytes + hs + 32 * i) == kind) return b.bytes + hs + 32 * i;
    return NULL;
}

static inline uint8_t *entry_of(blob b, uint32_t kind, uint64_t index) {
    uint8_t *s = section_of(b, kind);
    cr_assert(s && index < get64(s + 24), "no entry %llu of section kind %u", (unsigned long long)index, kind);
    return b.bytes + get64(s + 8) + index * get32(s + 4);
}

static inline uint8_t *data_of(blob b) { return b.bytes + get64(b.bytes + H_DATA_OFFSET); }

/* Recomputes meta_crc32 and data_crc32 after a patch, so that the deeper checks are reached. */
static inline void restamp(blob b) {
    uint64_t data_offset = get64(b.bytes + H_DATA_OFFSET);
    if (data_offset > b.size || data_offset < 64) return;
    put64(b.bytes + H_META_CRC, 0);
    put32(b.bytes + H_META_CRC, ifg_crc32(0, b.bytes, data_offset));
    put32(b.bytes + H_DATA_CRC, ifg_crc32(0, b.bytes + data_offset, b.size - data_offset));
}

/* Patches tensor id of b to an encoding with its aux ids. */
static inline void set_encoding(blob b, uint32_t id, int encoding, uint32_t aux0, uint32_t aux1) {
    uint8_t *e = entry_of(b, IFG_SEC_TENSORS, id);
    e[T_ENCODING] = (uint8_t)encoding;
    put32(e + T_AUX, aux0);
    put32(e + T_AUX + 4, aux1);
}

/* The sample plus one constant of every non-dense encoding (with their aux tensors), all valid. */
static inline blob encoded_blob(void) {
    ifg_writer *w = sample_writer();
    int8_t q[24];
    for (int i = 0; i < 24; i++) q[i] = (int8_t)(i * 11 - 100);
    const float scales[4] = { 0.1f, 0.2f, 0.3f, 0.4f };
    const int32_t zps[4] = { 0, 1, -1, 2 }, cols[5] = { 0, 5, 2, 3, 1 }, rowptr[5] = { 0, 2, 2, 4, 5 };
    const int32_t bcols[2] = { 1, 0 }, browptr[3] = { 0, 1, 2 };
    const uint8_t meta[3] = { 0x4E, 0xE4, 0x93 };
    const float values[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24 };
    const int64_t d46[2] = { 4, 6 }, d38[2] = { 3, 8 }, d4[1] = { 4 }, d5[1] = { 5 }, d2[1] = { 2 }, d3[1] = { 3 };
    uint32_t pt = ifg_writer_tensor(w, "pt", INFER_F32, 2, d46, q, 24);
    uint32_t pc = ifg_writer_tensor(w, "pc", INFER_F32, 2, d46, q, 24);
    uint32_t pcs = ifg_writer_tensor(w, "pc.s", INFER_F32, 1, d4, scales, sizeof scales);
    uint32_t pcz = ifg_writer_tensor(w, "pc.z", INFER_I32, 1, d4, zps, sizeof zps);
    uint32_t csr = ifg_writer_tensor(w, "csr", INFER_F32, 2, d46, values, 20);
    uint32_t csrc = ifg_writer_tensor(w, "csr.c", INFER_I32, 1, d5, cols, sizeof cols);
    uint32_t csrr = ifg_writer_tensor(w, "csr.r", INFER_I32, 1, d5, rowptr, sizeof rowptr);
    uint32_t bsr = ifg_writer_tensor(w, "bsr", INFER_F32, 2, d46, values, 48);
    uint32_t bsrc = ifg_writer_tensor(w, "bsr.c", INFER_I32, 1, d2, bcols, sizeof bcols);
    uint32_t bsrr = ifg_writer_tensor(w, "bsr.r", INFER_I32, 1, d3, browptr, sizeof browptr);
    uint32_t sp = ifg_writer_tensor(w, "sp", INFER_F32, 2, d38, values, 48);
    uint32_t spm = ifg_writer_tensor(w, "sp.m", INFER_U8, 1, d3, meta, sizeof meta);
    blob b = writer_blob(w);
    uint8_t *e = entry_of(b, IFG_SEC_TENSORS, pt);
    const float scale = 0.05f;
    e[T_ENCODING] = IFG_ENC_INT8_TENSOR;
    memcpy(e + T_SCALE, &scale, 4);
    put32(e + T_ZERO_POINT, 3);
    set_encoding(b, pc, IFG_ENC_INT8_CHANNEL, pcs, pcz);
    put32(entry_of(b, IFG_SEC_TENSORS, pc) + T_QUANT_AXIS, 0);
    set_encoding(b, csr, IFG_ENC_CSR, csrc, csrr);
    set_encoding(b, bsr, IFG_ENC_BSR, bsrc, bsrr);
    put32(entry_of(b, IFG_SEC_TENSORS, bsr) + T_BLOCK, 2u << 16 | 3u);
    set_encoding(b, sp, IFG_ENC_SPARSE_2_4, spm, IFG_NONE);
    restamp(b);
    return b;
}

/* Loading must fail with status, a message containing fragment, and leave the file zeroed. */
static inline void expect_fail(blob b, infer_status status, const char *fragment) {
    ifg_file f;
    infer_error err;
    memset(&f, 0xAB, sizeof f);
    infer_status st = ifg_open_memory(b.bytes, b.size, &f, &err);
    cr_assert_eq(st, status, "expected %s, got %s: %s", infer_status_name(status), infer_status_name(st),
                 st == INFER_OK ? "(loaded)" : err.message);
    cr_assert(strstr(err.message, fragment), "message '%s' lacks '%s'", err.message, fragment);
    cr_assert(f.map == NULL && f.tensors == NULL && f.nodes == NULL && f.n_tensors == 0, "file not zeroed");
}

static inline void expect_loads(blob b, ifg_file *f) {
    infer_error err;
    infer_status st = ifg_open_memory(b.bytes, b.size, f, &err);
    cr_assert_eq(st, INFER_OK, "%s", err.message);
}

#endif
