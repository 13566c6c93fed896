/* test_ifg_corrupt.c — the .ifg loader refuses corrupt files with the right status and message, never crashing. */
#include "test_ifg_util.h"

/* Patches are re-stamped with fresh CRCs so that the check under test, not the checksum, catches them. */
#define CORRUPT(patch, status, fragment)      \
    do {                                      \
        blob b = sample_blob();               \
        patch;                                \
        restamp(b);                           \
        expect_fail(b, status, fragment);     \
        free(b.bytes);                        \
    } while (0)

#define TENSOR(id) entry_of(b, IFG_SEC_TENSORS, id)
#define NODE(id) entry_of(b, IFG_SEC_NODES, id)
#define ATTR(id) entry_of(b, IFG_SEC_ATTRS, id)
#define SECTION(kind) section_of(b, kind)

/* ---- steps 1-3: size, magic, version, header fields, checksums ------------------------------ */

static void check_truncated(blob b, uint64_t n) {
    blob c = blob_prefix(b, n);
    expect_fail(c, INFER_ERR_FORMAT, n < 128 ? "smaller than the 128-byte .ifg header" : "(truncated or extended)");
    if (n >= 128) { /* the header patched to the cut size: a deeper check still refuses it */
        uint64_t data_offset = get64(c.bytes + H_DATA_OFFSET);
        put64(c.bytes + H_FILE_SIZE, n);
        if (n >= data_offset) put64(c.bytes + H_DATA_SIZE, n - data_offset);
        restamp(c);
        expect_fail(c, INFER_ERR_FORMAT, n < data_offset ? "data_offset (file offset 40)" : "outside the data region");
    }
    free(c.bytes);
}

Test(ifg_corrupt, truncation_at_every_boundary_and_many_offsets) {
    blob b = sample_blob();
    for (uint64_t n = 0; n < b.size; n += n < 160 ? 1 : 5) check_truncated(b, n);
    for (uint32_t kind = 1; kind <= 8; kind++) {
        uint8_t *s = SECTION(kind);
        uint64_t start = get64(s + 8), end = start + get64(s + 16);
        check_truncated(b, start);
        check_truncated(b, end);
        if (end > start) check_truncated(b, end - 1);
    }
    const uint32_t constants[3] = { T_W, T_B, T_MASK };
    for (int t = 0; t < 3; t++) { /* the first and the last byte of each constant's data */
        uint64_t start = get64(b.bytes + H_DATA_OFFSET) + get64(TENSOR(constants[t]) + T_DATA_OFFSET);
        check_truncated(b, start);
        check_truncated(b, start + get64(TENSOR(constants[t]) + T_DATA_SIZE) - 1);
    }
    check_truncated(b, b.size - 1);
    free(b.bytes);
}

Test(ifg_corrupt, bad_magic) {
    CORRUPT(b.bytes[3] = 'X', INFER_ERR_FORMAT, "bad magic at file offset 0");
    blob text = { malloc(200), 200 };
    memset(text.bytes, 'a', 200);
    expect_fail(text, INFER_ERR_FORMAT, "not an .ifg file");
    free(text.bytes);
}

Test(ifg_corrupt, newer_major_version_names_both) {
    CORRUPT(put16(b.bytes + H_VERSION_MAJOR, 2), INFER_ERR_VERSION, "file version 2.0 (file offset 8) is newer than "
                                                                   "this reader's 1.1");
    CORRUPT((put16(b.bytes + H_VERSION_MAJOR, 7), put16(b.bytes + H_VERSION_MINOR, 4)), INFER_ERR_VERSION, "7.4");
    CORRUPT(put16(b.bytes + H_VERSION_MAJOR, 0), INFER_ERR_FORMAT, "file version 0.0 (file offset 8) is not supported");
}

Test(ifg_corrupt, header_fields) {
    CORRUPT(put64(b.bytes + H_FILE_SIZE, b.size + 1), INFER_ERR_FORMAT, "file_size (file offset 16)");
    CORRUPT(put32(b.bytes + H_HEADER_SIZE, 64), INFER_ERR_FORMAT, "header_size (file offset 12) is 64");
    CORRUPT(put32(b.bytes + H_SECTION_COUNT, 65), INFER_ERR_FORMAT, "section_count (file offset 24) is 65");
    CORRUPT(put32(b.bytes + H_FLAGS, 1), INFER_ERR_FORMAT, "flags (file offset 28)");
    CORRUPT(put64(b.bytes + 32, 136), INFER_ERR_FORMAT, "section_table_offset (file offset 32)");
    CORRUPT(put64(b.bytes + H_DATA_OFFSET, get64(b.bytes + H_DATA_OFFSET) + 8), INFER_ERR_FORMAT,
            "data_offset (file offset 40)");
    CORRUPT(put64(b.bytes + H_DATA_OFFSET, get64(b.bytes + H_DATA_OFFSET) + 256), INFER_ERR_FORMAT,
            "data_size (file offset 48)");
    CORRUPT(put64(b.bytes + H_DATA_SIZE, 3), INFER_ERR_FORMAT, "data_size (file offset 48) is 3");
    CORRUPT(b.bytes[100] = 1, INFER_ERR_FORMAT, "header bytes [64, 128) are reserved");
}

Test(ifg_corrupt, checksums) {
    blob b = sample_blob();
    b.bytes[get64(SECTION(IFG_SEC_STRINGS) + 8) + 1] ^= 0x20; /* a tensor name's letter */
    expect_fail(b, INFER_ERR_FORMAT, "meta_crc32 (file offset 56)");
    free(b.bytes);
    b = sample_blob();
    data_of(b)[5] ^= 0x01; /* one bit of fc.weight */
    expect_fail(b, INFER_ERR_FORMAT, "data_crc32 (file offset 60)");
    free(b.bytes);
    b = sample_blob();
    b.bytes[H_META_CRC] ^= 0x80;
    expect_fail(b, INFER_ERR_FORMAT, "meta_crc32");
    free(b.bytes);
}

/* ---- step 4: sections ------------------------------------------------------------------------ */

Test(ifg_corrupt, section_table) {
    CORRUPT(put64(SECTION(IFG_SEC_TENSORS) + 8, get64(b.bytes + H_DATA_OFFSET)), INFER_ERR_FORMAT,
            "(kind 2 TENSORS) at file offset 0xa0: [offset");
    CORRUPT(put64(SECTION(IFG_SEC_TENSORS) + 8, 1ull << 62), INFER_ERR_FORMAT, "inside the sections region");
    CORRUPT(put64(SECTION(IFG_SEC_NODES) + 8, get64(SECTION(IFG_SEC_NODES) + 8) + 4), INFER_ERR_FORMAT,
            "is not 8-aligned");
    CORRUPT(put64(SECTION(IFG_SEC_NODES) + 8, 8), INFER_ERR_FORMAT, "inside the sections region");
    CORRUPT((put64(SECTION(IFG_SEC_IDS) + 24, 1000), put64(SECTION(IFG_SEC_IDS) + 16, 4000)), INFER_ERR_FORMAT,
            "(kind 5 IDS) at file offset 0x100: [offset");
    CORRUPT(put64(SECTION(IFG_SEC_TENSORS) + 24, 1ull << 62), INFER_ERR_FORMAT, "is not count 4611686018427387904 x "
                                                                             "entry_size 128");
    CORRUPT((put32(SECTION(IFG_SEC_TENSORS) + 4, 64), put64(SECTION(IFG_SEC_TENSORS) + 16, 64 * SAMPLE_TENSORS)),
            INFER_ERR_FORMAT, "entry_size 64 is smaller than this kind's 128 bytes");
    CORRUPT(put64(SECTION(IFG_SEC_NODES) + 8, get64(SECTION(IFG_SEC_TENSORS) + 8)), INFER_ERR_FORMAT,
            "section table entries 1 (kind 2 TENSORS");
    CORRUPT(put32(SECTION(IFG_SEC_META), IFG_SEC_TENSORS), INFER_ERR_FORMAT, "the kind appears twice (first in entry 1)");
    CORRUPT(put32(SECTION(IFG_SEC_META), 99), INFER_ERR_FORMAT, "section kind 8 META is missing");
    CORRUPT((put64(SECTION(IFG_SEC_GRAPH) + 24, 0), put64(SECTION(IFG_SEC_GRAPH) + 16, 0)), INFER_ERR_FORMAT,
            "the GRAPH section holds exactly one entry");
    CORRUPT(put32(b.bytes + H_SECTION_COUNT, 7), INFER_ERR_FORMAT, "section kind 8 META is missing");
}

Test(ifg_corrupt, section_overlap_names_both_entries) {
    blob b = sample_blob();
    uint8_t *attrs = SECTION(IFG_SEC_ATTRS), *ids = SECTION(IFG_SEC_IDS);
    put64(ids + 8, get64(attrs + 8) + 8); /* IDS starts inside ATTRS */
    restamp(b);
    expect_fail(b, INFER_ERR_FORMAT, "section table entries 3 (kind 4 ATTRS");
    expect_fail(b, INFER_ERR_FORMAT, "and 4 (kind 5 IDS");
    expect_fail(b, INFER_ERR_FORMAT, "overlap");
    free(b.bytes);
}

/* ---- step 5: strings ------------------------------------------------------------------------- */

Test(ifg_corrupt, strings) {
    CORRUPT(put32(TENSOR(T_W) + T_NAME, 100000), INFER_ERR_FORMAT, "TENSORS entry 1 at file offset");
    CORRUPT(put32(TENSOR(T_W) + T_NAME, 100000), INFER_ERR_FORMAT, "name string offset 100000");
    CORRUPT(put32(TENSOR(T_W) + T_NAME, 100000), INFER_ERR_FORMAT, "is outside the STRINGS section");
    CORRUPT(put32(NODE(1) + N_NAME, 0xFFFFFFFFu), INFER_ERR_FORMAT, "NODES entry 1");
    CORRUPT(put64(ATTR(2) + A_VALUE, 1ull << 40), INFER_ERR_FORMAT, "value string offset 1099511627776");
    CORRUPT(put32(entry_of(b, IFG_SEC_META, 1) + 4, 1u << 31), INFER_ERR_FORMAT, "META entry 1");
    CORRUPT((b.bytes[get64(SECTION(IFG_SEC_STRINGS) + 8) + get64(SECTION(IFG_SEC_STRINGS) + 16) - 1] = 'x'),
            INFER_ERR_FORMAT, "has no terminating NUL inside the STRINGS section");
    CORRUPT((b.bytes[get64(SECTION(IFG_SEC_STRINGS) + 8) + 3] = 0xFF), INFER_ERR_FORMAT, "invalid UTF-8 at file offset");
    CORRUPT((b.bytes[get64(SECTION(IFG_SEC_STRINGS) + 8)] = 'x'), INFER_ERR_FORMAT, "must start with a NUL byte");
}

Test(ifg_corrupt, string_into_the_middle_of_a_character) {
    blob b = sample_blob();
    uint8_t *s = SECTION(IFG_SEC_STRINGS);
    const uint8_t *strings = b.bytes + get64(s + 8);
    uint64_t n = get64(s + 16), at = 0;
    for (uint64_t i = 0; i < n && !at; i++)
        if (strings[i] == 0xC3) at = i + 1; /* the continuation byte of "ü" */
    cr_assert_neq(at, 0);
    put32(entry_of(b, IFG_SEC_META, 1) + 4, (uint32_t)at);
    restamp(b);
    expect_fail(b, INFER_ERR_FORMAT, "points into the middle of a UTF-8 character");
    free(b.bytes);
}

/* ---- step 6: tensors ------------------------------------------------------------------------- */

Test(ifg_corrupt, tensor_fields) {
    CORRUPT(TENSOR(T_W)[T_DTYPE] = 99, INFER_ERR_FORMAT, "tensor 1 ('fc.weight') at file offset 0x");
    CORRUPT(TENSOR(T_W)[T_DTYPE] = 99, INFER_ERR_FORMAT, "dtype code 99 is unknown");
    CORRUPT(TENSOR(T_X)[T_DTYPE] = 0, INFER_ERR_FORMAT, "dtype code 0 is unknown");
    CORRUPT(TENSOR(T_B)[T_ENCODING] = 9, INFER_ERR_FORMAT, "encoding code 9 is unknown");
    CORRUPT(TENSOR(T_FC)[T_NDIM] = 9, INFER_ERR_FORMAT, "ndim 9 is more than 8");
    CORRUPT(TENSOR(T_FC)[T_KIND] = 2, INFER_ERR_FORMAT, "kind 2 is neither");
    CORRUPT(put32(TENSOR(T_Y) + T_NAME, 0), INFER_ERR_FORMAT, "the name is empty");
    CORRUPT(put32(TENSOR(T_Y) + T_NAME, get32(TENSOR(T_X) + T_NAME)), INFER_ERR_FORMAT,
            "tensor 6 ('x') at file offset 0x");
    CORRUPT(put32(TENSOR(T_Y) + T_NAME, get32(TENSOR(T_X) + T_NAME)), INFER_ERR_FORMAT,
            "the name is also the name of tensor 0; tensor names are unique");
    CORRUPT(TENSOR(T_ACT)[T_RESERVED + 5] = 1, INFER_ERR_FORMAT, "reserved byte 121 of the entry is 0x01");
    CORRUPT(put32(TENSOR(T_W) + T_BLOCK, 0x10001), INFER_ERR_FORMAT, "block is 0x10001");
    CORRUPT(put32(TENSOR(T_W) + T_AUX + 4, 3), INFER_ERR_FORMAT, "aux1 is 3 but the dense encoding uses no aux1");
    CORRUPT(put32(TENSOR(T_FC) + T_SCALE, 0x3F800000), INFER_ERR_FORMAT, "scale 1 / zero_point 0 are set");
    CORRUPT(put32(TENSOR(T_FC) + T_QUANT_AXIS, 1), INFER_ERR_FORMAT, "quant_axis is 1");
    CORRUPT(TENSOR(T_FC)[T_ENCODING] = IFG_ENC_INT8_TENSOR, INFER_ERR_FORMAT, "an activation must be dense");
    CORRUPT(put64(TENSOR(T_FC) + T_DATA_SIZE, 4), INFER_ERR_FORMAT, "an activation has no data");
}

Test(ifg_corrupt, tensor_dims) {
    /* an activation with three dims of 2^40: the element count overflows 64 bits */
    CORRUPT((TENSOR(T_FC)[T_NDIM] = 3, put64(TENSOR(T_FC) + T_DIMS, 1ull << 40),
             put64(TENSOR(T_FC) + T_DIMS + 8, 1ull << 40), put64(TENSOR(T_FC) + T_DIMS + 16, 1ull << 40)),
            INFER_ERR_FORMAT, "dims overflow");
    /* a zero dim does not hide the overflow of the others */
    CORRUPT((TENSOR(T_FC)[T_NDIM] = 3, put64(TENSOR(T_FC) + T_DIMS, 0), put64(TENSOR(T_FC) + T_DIMS + 8, 1ull << 62),
             put64(TENSOR(T_FC) + T_DIMS + 16, 1ull << 62)),
            INFER_ERR_FORMAT, "dims overflow");
    CORRUPT(put64(TENSOR(T_FC) + T_DIMS + 8, (uint64_t)-2), INFER_ERR_FORMAT, "dims[1] is -2");
    CORRUPT(put64(TENSOR(T_FC) + T_DIMS + 8, (uint64_t)-1), INFER_ERR_FORMAT, "dims[1] is -1");
    CORRUPT(put64(TENSOR(T_B) + T_DIMS, (uint64_t)-1), INFER_ERR_FORMAT, "tensor 2 ('fc.bias')");
    CORRUPT(put64(TENSOR(T_B) + T_DIMS, (uint64_t)-1), INFER_ERR_FORMAT, "dims[0] is -1");
    CORRUPT(put64(TENSOR(T_X) + T_DIMS + 16, 5), INFER_ERR_FORMAT, "dims[2] is 5 but ndim is 2");
}

Test(ifg_corrupt, tensor_data) {
    CORRUPT(put64(TENSOR(T_W) + T_DATA_OFFSET, 256 * 1000), INFER_ERR_FORMAT,
            "tensor 1 ('fc.weight') at file offset 0x");
    CORRUPT(put64(TENSOR(T_W) + T_DATA_OFFSET, 256 * 1000), INFER_ERR_FORMAT,
            "data [offset 0x3e800, size 140] is outside the data region [0, 0x");
    CORRUPT(put64(TENSOR(T_W) + T_DATA_OFFSET, 4), INFER_ERR_FORMAT, "data offset 0x4 is not a multiple of 256");
    CORRUPT(put64(TENSOR(T_W) + T_DATA_OFFSET, (uint64_t)-256), INFER_ERR_FORMAT, "outside the data region");
    CORRUPT(put64(TENSOR(T_W) + T_DATA_SIZE, (uint64_t)-8), INFER_ERR_FORMAT, "outside the data region");
    CORRUPT(put64(TENSOR(T_B) + T_DATA_SIZE, 4), INFER_ERR_FORMAT,
            "data_size is 4 but f32 dense data of these dims takes 20 bytes");
    blob b = sample_blob();
    data_of(b)[get64(TENSOR(T_MASK) + T_DATA_OFFSET) + 1] = 2;
    restamp(b);
    expect_fail(b, INFER_ERR_FORMAT, "bool data byte 1");
    expect_fail(b, INFER_ERR_FORMAT, "is 2; bool values are 0 or 1");
    free(b.bytes);
}

/* ---- step 7: attributes and nodes -------------------------------------------------------------- */

Test(ifg_corrupt, attributes) {
    CORRUPT(put32(ATTR(0) + A_TYPE, 9), INFER_ERR_FORMAT, "ATTRS entry 0 ('act') at file offset 0x");
    CORRUPT(put32(ATTR(0) + A_TYPE, 9), INFER_ERR_FORMAT, "type 9 is unknown");
    CORRUPT(put32(ATTR(1) + 12, 1), INFER_ERR_FORMAT, "reserved field (entry offset 12)");
    CORRUPT(put32(ATTR(0) + A_COUNT, 2), INFER_ERR_FORMAT, "count is 2");
    CORRUPT(put32(ATTR(3) + A_COUNT, 100), INFER_ERR_FORMAT, "values [0, +100) are outside the VALUES section");
    CORRUPT(put64(ATTR(4) + A_VALUE, 1ull << 63), INFER_ERR_FORMAT, "ATTRS entry 4 ('scales')");
    CORRUPT(put32(ATTR(1) + A_KEY, get32(ATTR(0) + A_KEY)), INFER_ERR_FORMAT, "attribute key 'act' appears twice");
}

Test(ifg_corrupt, node_ops_and_counts) {
    CORRUPT(put16(NODE(1) + N_OP, 999), INFER_ERR_FORMAT, "node 1 ('sigmoid', op 999 ?) at file offset 0x");
    CORRUPT(put16(NODE(1) + N_OP, 999), INFER_ERR_FORMAT, "op code 999 is unknown");
    CORRUPT(put16(NODE(0) + N_OP, 0), INFER_ERR_FORMAT, "op code 0 is unknown");
    CORRUPT(put16(NODE(0) + N_RESERVED, 1), INFER_ERR_FORMAT, "reserved field (entry offset 2)");
    CORRUPT(put32(NODE(1) + N_INPUT_COUNT, 2), INFER_ERR_FORMAT, "has 2 inputs; activation takes 1 to 1");
    CORRUPT(put32(NODE(0) + N_INPUT_COUNT, 1), INFER_ERR_FORMAT, "has 1 inputs; linear takes 2 to 4");
    CORRUPT(put32(NODE(0) + N_OUTPUT_COUNT, 0), INFER_ERR_FORMAT, "has 0 outputs; linear produces 1");
    CORRUPT(put16(NODE(1) + N_OP, OP_LSTM), INFER_ERR_FORMAT, "has 1 inputs; lstm takes 5 to 5 or more");
    CORRUPT(put32(NODE(2) + N_INPUTS, 1000), INFER_ERR_FORMAT, "inputs [1000, +2)");
    CORRUPT(put32(NODE(2) + N_OUTPUTS, 0xFFFFFFFFu), INFER_ERR_FORMAT, "outside the IDS section");
    CORRUPT(put32(NODE(2) + N_ATTR_COUNT, 50), INFER_ERR_FORMAT, "attributes [7, +50) are outside the ATTRS section");
    CORRUPT(put32(NODE(1) + N_INPUTS, get32(NODE(0) + N_INPUTS)), INFER_ERR_FORMAT, "is in two ranges");
    CORRUPT(put32(NODE(1) + N_ATTRS, 0), INFER_ERR_FORMAT, "ATTRS entry 0 belongs to two nodes");
}

Test(ifg_corrupt, node_tensor_ids) {
    uint64_t ids = 0;
    blob s = sample_blob();
    ids = get64(section_of(s, IFG_SEC_IDS) + 8); /* node 0's inputs are IDS 0..3, its output IDS 4 */
    free(s.bytes);
    CORRUPT(put32(b.bytes + ids + 4, 999), INFER_ERR_FORMAT, "node 0 ('fc', op 3 linear)");
    CORRUPT(put32(b.bytes + ids + 4, 999), INFER_ERR_FORMAT, "input 1 is 999, not a tensor id (7 tensors)");
    CORRUPT(put32(b.bytes + ids, IFG_NONE), INFER_ERR_FORMAT, "input 0 is absent (IFG_NONE)");
    CORRUPT(put32(b.bytes + ids + 16, IFG_NONE), INFER_ERR_FORMAT, "output 0 is 4294967295, not a tensor id");
    CORRUPT(put32(b.bytes + ids + 16, T_W), INFER_ERR_FORMAT, "output 0 is tensor 1 ('fc.weight'), a constant");
    CORRUPT(put32(b.bytes + ids + 16, T_X), INFER_ERR_FORMAT, "output 0 is tensor 0 ('x'), a graph input");
    CORRUPT(put32(b.bytes + ids + 16, T_ACT), INFER_ERR_FORMAT, "output 0 is tensor 4 ('act.out'), also produced by "
                                                               "node 0");
    CORRUPT(put32(b.bytes + ids, T_FC), INFER_ERR_FORMAT, "input 0 is tensor 3 ('fc.out'), produced by node 0, which "
                                                         "does not come earlier");
    CORRUPT(put32(b.bytes + ids, T_Y), INFER_ERR_FORMAT, "produced by node 2, which does not come earlier "
                                                        "(nodes must be in topological order)");
}

/* A graph x -> a -> b written with the writer, nodes in the order given. */
static blob chain(int reversed, int twice) {
    infer_error err;
    ifg_writer *w;
    cr_assert_eq(ifg_writer_create(&w, &err), INFER_OK);
    const int64_t d[1] = { 3 };
    ifg_writer_tensor(w, "x", INFER_F32, 1, d, NULL, 0);
    ifg_writer_tensor(w, "a", INFER_F32, 1, d, NULL, 0);
    ifg_writer_tensor(w, "b", INFER_F32, 1, d, NULL, 0);
    const uint32_t x = 0, a = 1, bb = 2;
    if (reversed) ifg_writer_node(w, OP_UNARY, "second", &a, 1, &bb, 1);
    ifg_writer_node(w, OP_UNARY, "first", &x, 1, &a, 1);
    if (!reversed) ifg_writer_node(w, OP_UNARY, "second", &a, 1, twice ? &a : &bb, 1);
    ifg_writer_graph(w, &x, 1, twice ? &a : &bb, 1);
    return writer_blob(w);
}

Test(ifg_corrupt, topological_order_and_single_producer) {
    blob b = chain(0, 0);
    ifg_file f;
    expect_loads(b, &f);
    ifg_close(&f);
    free(b.bytes);
    b = chain(1, 0);
    expect_fail(b, INFER_ERR_FORMAT, "node 0 ('second', op 25 unary) at file offset 0x");
    expect_fail(b, INFER_ERR_FORMAT, "input 0 is tensor 1 ('a'), produced by node 1, which does not come earlier");
    free(b.bytes);
    b = chain(0, 1);
    expect_fail(b, INFER_ERR_FORMAT, "node 1 ('second', op 25 unary)");
    expect_fail(b, INFER_ERR_FORMAT, "output 0 is tensor 1 ('a'), also produced by node 0; every activation has one "
                                     "producer");
    free(b.bytes);
}

/* ---- step 8: the GRAPH entry ------------------------------------------------------------------ */

Test(ifg_corrupt, graph_entry) {
    CORRUPT(put32(entry_of(b, IFG_SEC_GRAPH, 0) + 4, 9), INFER_ERR_FORMAT, "are outside the IDS section");
    ifg_writer *w = sample_writer();
    const uint32_t twice[2] = { T_X, T_X }, out[1] = { T_Y }, bad_out[2] = { T_Y, T_W }, none[1] = { 77 };
    ifg_writer_graph(w, twice, 2, out, 1);
    blob b = writer_blob(w);
    expect_fail(b, INFER_ERR_FORMAT, "GRAPH entry at file offset 0x");
    expect_fail(b, INFER_ERR_FORMAT, "input 1 is tensor 0 ('x'), listed twice");
    free(b.bytes);

    w = sample_writer();
    ifg_writer_graph(w, twice, 1, bad_out, 2);
    b = writer_blob(w);
    expect_fail(b, INFER_ERR_FORMAT, "output 1 is tensor 1 ('fc.weight'), which no node produces");
    free(b.bytes);

    w = sample_writer();
    ifg_writer_graph(w, twice, 1, NULL, 0);
    b = writer_blob(w);
    expect_fail(b, INFER_ERR_FORMAT, "the graph has no outputs");
    free(b.bytes);

    w = sample_writer();
    ifg_writer_graph(w, twice, 1, none, 1);
    b = writer_blob(w);
    expect_fail(b, INFER_ERR_FORMAT, "output 0 is 77, not a tensor id");
    free(b.bytes);

    w = sample_writer();
    ifg_writer_graph(w, bad_out + 1, 1, out, 1);
    b = writer_blob(w);
    expect_fail(b, INFER_ERR_FORMAT, "input 0 is tensor 1 ('fc.weight'), a constant; graph inputs are activations");
    free(b.bytes);

    /* a graph input that is also a node's output */
    w = sample_writer();
    const uint32_t ins[2] = { T_X, T_ACT };
    ifg_writer_graph(w, ins, 2, out, 1);
    b = writer_blob(w);
    expect_fail(b, INFER_ERR_FORMAT, "output 0 is tensor 4 ('act.out'), a graph input");
    free(b.bytes);
    /* an activation nobody produces */
    w = sample_writer();
    const int64_t d[1] = { 5 };
    uint32_t orphan = ifg_writer_tensor(w, "orphan", INFER_F32, 1, d, NULL, 0);
    blob good = writer_blob(w);
    put32(good.bytes + get64(section_of(good, IFG_SEC_IDS) + 8) + 4 * 5, orphan); /* node 1's input */
    restamp(good);
    expect_fail(good, INFER_ERR_FORMAT, "node 1 ('sigmoid', op 7 activation)");
    expect_fail(good, INFER_ERR_FORMAT, "input 0 is tensor 7 ('orphan'), an activation that no node produces");
    free(good.bytes);
}

/* ---- fuzzing ----------------------------------------------------------------------------------- */

/* Reads everything a loaded file points to, so that ASan sees any bad pointer, and checks the invariants. */
static void walk(const ifg_file *f) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < f->n_tensors; i++) {
        const ifg_tensor *t = &f->tensors[i];
        sum += strlen(t->name);
        for (uint64_t k = 0; k < t->data_size; k++) sum += ((const uint8_t *)t->data)[k];
        cr_assert(t->ndim >= 0 && t->ndim <= INFER_MAX_DIMS && t->dtype > 0 && t->dtype < INFER_DTYPE_COUNT);
    }
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const ifg_node *n = &f->nodes[i];
        sum += strlen(n->name);
        cr_assert_not_null(op_get_info(n->op));
        for (uint32_t k = 0; k < n->n_inputs; k++) cr_assert(n->inputs[k] < f->n_tensors || n->inputs[k] == IFG_NONE);
        for (uint32_t k = 0; k < n->n_outputs; k++) cr_assert_lt(n->outputs[k], f->n_tensors);
        for (uint32_t k = 0; k < n->n_attrs; k++) {
            const ifg_attr *a = &n->attrs[k];
            sum += strlen(a->key) + (a->type == IFG_ATTR_STRING ? strlen(a->s) : 0);
            for (uint32_t v = 0; a->type == IFG_ATTR_INTS && v < a->count; v++) sum += (uint64_t)ifg_attr_int_at(a, v);
            for (uint32_t v = 0; a->type == IFG_ATTR_FLOATS && v < a->count; v++) sum += ifg_attr_float_at(a, v) > 0;
        }
    }
    for (uint32_t i = 0; i < f->n_inputs; i++) cr_assert_lt(f->inputs[i], f->n_tensors);
    for (uint32_t i = 0; i < f->n_outputs; i++) cr_assert_lt(f->outputs[i], f->n_tensors);
    for (uint32_t i = 0; i < f->n_meta; i++) sum += strlen(f->meta[i].key) + strlen(f->meta[i].value);
    cr_assert_neq(sum, 0);
}

static const uint64_t interesting[] = { 0, 1, 2, 7, 8, 255, 256, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE,
                                        1ull << 32, 1ull << 62, (uint64_t)-1, (uint64_t)-256 };

/* One mutation: random bytes, or an interesting value written over a 4- or 8-byte field. */
static void mutate(test_rng *r, blob b) {
    uint64_t data_offset = get64(b.bytes + H_DATA_OFFSET); /* perhaps mutated already */
    uint64_t limit = rng_u64(r) % 8 && data_offset && data_offset < b.size ? data_offset : b.size; /* mostly tables */
    uint64_t at = rng_u64(r) % limit;
    switch (rng_u64(r) % 3) {
    case 0: b.bytes[at] ^= (uint8_t)(1 + rng_u64(r) % 255); break;
    case 1:
        at &= ~3ull;
        if (at + 4 <= b.size) put32(b.bytes + at, (uint32_t)interesting[rng_u64(r) % 15]);
        break;
    default:
        at &= ~7ull;
        if (at + 8 <= b.size) put64(b.bytes + at, interesting[rng_u64(r) % 15]);
        break;
    }
}

Test(ifg_corrupt, fuzz_never_crashes) {
    blob bases[2] = { sample_blob(), encoded_blob() };
    ifg_file f;
    infer_error err;
    expect_loads(bases[1], &f); /* the encoded base is itself valid */
    ifg_close(&f);
    test_rng r = rng_seed(2024);
    int loaded = 0, refused = 0;
    for (int it = 0; it < 2000; it++) {
        blob b = blob_prefix(bases[it % 2], bases[it % 2].size);
        int mutations = 1 + (int)(rng_u64(&r) % 4);
        for (int m = 0; m < mutations; m++) mutate(&r, b);
        if (rng_u64(&r) % 16) restamp(b);
        infer_status st = ifg_open_memory(b.bytes, b.size, &f, &err);
        cr_assert(st == INFER_OK || st == INFER_ERR_FORMAT || st == INFER_ERR_VERSION, "iteration %d: %s", it,
                  infer_status_name(st));
        if (st == INFER_OK) {
            walk(&f);
            ifg_close(&f);
            loaded++;
        } else {
            cr_assert_gt(strlen(err.message), 10);
            cr_assert_null(f.tensors);
            refused++;
        }
        free(b.bytes);
    }
    cr_assert_gt(refused, 1000, "most mutations are caught (%d refused, %d loaded)", refused, loaded);
    free(bases[0].bytes);
    free(bases[1].bytes);
}
