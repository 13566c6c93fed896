/* test_cuda_encoded.c — which int8, CSR, BSR and 2:4 weights the CUDA backend keeps encoded, and their device layout
 * (host side: runs without a GPU); the decoding passes leave exactly those. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "../../graph/graph.h"
#include "../../kernels/cuda/encoded_weights.h"
#include "../../base/half.h"

static int add_t(ir_graph *g, const char *name, infer_dtype dt, int ndim, const int64_t *dims, const void *data,
                 size_t bytes) {
    ir_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.dtype = dt;
    t.ndim = ndim;
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)ndim);
    t.is_constant = data != NULL;
    t.storage.aux[0] = t.storage.aux[1] = t.storage.aux[2] = IR_NONE;
    t.producer = IR_NONE;
    if (data) {
        void *copy = ir_alloc(g, bytes ? bytes : 1);
        memcpy(copy, data, bytes);
        t.data = copy;
        t.nbytes = bytes;
    }
    return ir_add_tensor(g, &t);
}

static void add_node(ir_graph *g, op_code op, int x, int w, int y, int groups) {
    g->nodes = realloc(g->nodes, sizeof *g->nodes * (size_t)(g->n_nodes + 1));
    ir_node *n = &g->nodes[g->n_nodes++];
    g->cap_nodes = g->n_nodes;
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = "n";
    n->n_in = 2, n->n_out = 1;
    n->in[0] = x, n->in[1] = w, n->out[0] = y;
    if (op == OP_CONV2D) n->p.conv2d.groups = groups;
}

/* g with an int8 per-channel weight [5, 7] (zero points z, or none) read by a linear; returns the weight. */
static int int8_graph(ir_graph *g, const int32_t *z) {
    memset(g, 0, sizeof *g);
    int8_t q[35];
    float s[5] = { 0.5f, 0.25f, 1.0f, 2.0f, 0.125f };
    for (int i = 0; i < 35; i++) q[i] = (int8_t)(i * 7 % 255 - 127);
    int64_t wd[2] = { 5, 7 }, xd[2] = { 3, 7 }, yd[2] = { 3, 5 }, n5 = 5;
    int w = add_t(g, "w", INFER_F32, 2, wd, q, sizeof q);
    int sc = add_t(g, "w.scale", INFER_F32, 1, &n5, s, sizeof s);
    int zp = z ? add_t(g, "w.zero", INFER_I32, 1, &n5, z, 5 * sizeof(int32_t)) : IR_NONE;
    g->tensors[w].storage.kind = IR_STORAGE_INT8_CHANNEL;
    g->tensors[w].storage.axis = 0;
    g->tensors[w].storage.aux[0] = sc;
    g->tensors[w].storage.aux[1] = zp;
    int x = add_t(g, "x", INFER_F32, 2, xd, NULL, 0), y = add_t(g, "y", INFER_F32, 2, yd, NULL, 0);
    add_node(g, OP_LINEAR, x, w, y, 1);
    return w;
}

Test(cuda_encoded, int8_layout_pads_k_and_holds_colsums_and_scales) {
    ir_graph g;
    int w = int8_graph(&g, NULL);
    cuda_s8_layout l;
    cr_assert(cuda_s8_layout_of(&g, &g.tensors[w], &l));
    cr_assert_eq(l.K4, 8);
    cr_assert_eq(l.off_colsum % 256, 0);
    size_t bytes = cuda_encoded_bytes(&g, &g.tensors[w]);
    cr_assert_eq(bytes, l.bytes);
    uint8_t *d = malloc(bytes);
    cr_assert(cuda_encoded_fill(&g, &g.tensors[w], d));
    const int8_t *q = g.tensors[w].data;
    const int32_t *colsum = (const int32_t *)(d + l.off_colsum);
    const float *scale = (const float *)(d + l.off_scale);
    for (int n = 0; n < 5; n++) {
        int32_t sum = 0;
        for (int k = 0; k < 7; k++) {
            cr_assert_eq((int8_t)d[n * 8 + k], q[n * 7 + k]);
            sum += q[n * 7 + k];
        }
        cr_assert_eq(d[n * 8 + 7], 0, "the K padding is zero");
        cr_assert_eq(colsum[n], sum);
        cr_assert_eq(scale[n], ((const float *)g.tensors[g.tensors[w].storage.aux[0]].data)[n]);
    }
    free(d);
    ir_free(&g);
}

Test(cuda_encoded, int8_kept_only_where_a_cuda_kernel_takes_it) {
    ir_graph g;
    int w = int8_graph(&g, NULL);
    cr_assert(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_AUTO));
    cr_assert(cuda_keeps_encoded(&g, w, 1, INFER_SPARSE_AUTO), "FP16 engines run INT8 too");
    ir_free(&g);
    int32_t zero[5] = { 0, 0, 0, 0, 0 }, nonzero[5] = { 0, 1, 0, 0, 0 };
    w = int8_graph(&g, zero);
    cr_assert(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_AUTO), "all-zero zero points are symmetric");
    ir_free(&g);
    w = int8_graph(&g, nonzero);
    cr_assert_not(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_AUTO), "asymmetric weights are dequantized");
    ir_free(&g);
    w = int8_graph(&g, NULL);
    add_node(&g, OP_BINARY, w, g.nodes[0].in[0], g.nodes[0].out[0], 1); /* read as another op's input 0 */
    cr_assert_not(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_AUTO));
    ir_free(&g);
    w = int8_graph(&g, NULL);
    g.nodes[0].op = OP_CONV2D;
    g.nodes[0].p.conv2d.groups = 5;
    cr_assert_not(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_AUTO), "grouped int8 convolutions are dequantized");
    g.nodes[0].p.conv2d.groups = 1;
    cr_assert(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_AUTO));
    ir_free(&g);
}

Test(cuda_encoded, dequantize_pass_without_keep_decodes) {
    ir_graph g;
    int w = int8_graph(&g, NULL);
    g.outputs = malloc(sizeof *g.outputs);
    g.outputs[0] = g.nodes[0].out[0];
    g.n_outputs = 1;
    g.inputs = malloc(sizeof *g.inputs);
    g.inputs[0] = g.nodes[0].in[0];
    g.n_inputs = 1;
    g.tensors[g.inputs[0]].is_input = 1;
    g.tensors[g.outputs[0]].is_output = 1;
    infer_error err;
    cr_assert_eq(ir_dequantize_int8_except(&g, NULL, NULL, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(g.tensors[g.nodes[0].in[1]].storage.kind, IR_STORAGE_DENSE, "keep NULL: decoded");
    const float *dq = g.tensors[g.nodes[0].in[1]].data;
    cr_assert_eq(dq[7], 0.25f * (float)(int8_t)(7 * 7 % 255 - 127), "channel 1 takes its own scale");
    (void)w;
    ir_free(&g);
}

static int keep_all(const ir_graph *g, int t, void *ctx) {
    (void)g, (void)t;
    ++*(int *)ctx;
    return 1;
}

Test(cuda_encoded, decoding_passes_ask_the_backend) {
    ir_graph g;
    int w = int8_graph(&g, NULL), asked = 0;
    infer_error err;
    cr_assert_eq(ir_dequantize_int8_except(&g, keep_all, &asked, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(asked, 1);
    cr_assert_eq(g.tensors[w].storage.kind, IR_STORAGE_INT8_CHANNEL);
    ir_free(&g);
}

/* A CSR weight [4, 6] with nnz values read by a linear. */
static int csr_graph(ir_graph *g, int nnz) {
    memset(g, 0, sizeof *g);
    float v[24];
    int32_t idx[24], ptr[5] = { 0 };
    for (int i = 0; i < nnz; i++) v[i] = (float)(i + 1), idx[i] = i % 6;
    for (int r = 0; r < 4; r++) ptr[r + 1] = nnz * (r + 1) / 4;
    for (int r = 0; r < 4; r++) /* columns ascending within each row */
        for (int k = ptr[r]; k < ptr[r + 1]; k++) idx[k] = k - ptr[r];
    int64_t wd[2] = { 4, 6 }, xd[2] = { 2, 6 }, yd[2] = { 2, 4 }, ni = nnz, np = 5;
    int w = add_t(g, "w", INFER_F32, 2, wd, v, (size_t)nnz * sizeof(float));
    int it = add_t(g, "w.idx", INFER_I32, 1, &ni, idx, (size_t)nnz * sizeof(int32_t));
    int pt = add_t(g, "w.ptr", INFER_I32, 1, &np, ptr, sizeof ptr);
    g->tensors[w].storage.kind = IR_STORAGE_CSR;
    g->tensors[w].storage.aux[0] = it;
    g->tensors[w].storage.aux[1] = pt;
    int x = add_t(g, "x", INFER_F32, 2, xd, NULL, 0), y = add_t(g, "y", INFER_F32, 2, yd, NULL, 0);
    add_node(g, OP_LINEAR, x, w, y, 1);
    return w;
}

Test(cuda_encoded, csr_layout_and_density_rule) {
    ir_graph g;
    int w = csr_graph(&g, 4); /* 4 of 24: density 0.17 */
    cr_assert(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_AUTO));
    cr_assert_not(cuda_keeps_encoded(&g, w, 1, INFER_SPARSE_AUTO), "FP16 engines densify CSR");
    cuda_csr_layout l;
    cr_assert(cuda_csr_layout_of(&g, &g.tensors[w], &l));
    uint8_t *d = malloc(l.bytes);
    cr_assert(cuda_encoded_fill(&g, &g.tensors[w], d));
    cr_assert_eq(memcmp(d, g.tensors[w].data, 4 * sizeof(float)), 0);
    cr_assert_eq(memcmp(d + l.off_idx, g.tensors[g.tensors[w].storage.aux[0]].data, 4 * sizeof(int32_t)), 0);
    cr_assert_eq(memcmp(d + l.off_ptr, g.tensors[g.tensors[w].storage.aux[1]].data, 5 * sizeof(int32_t)), 0);
    free(d);
    cr_assert_not(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_DENSE), "--sparse dense densifies");
    ir_free(&g);
    w = csr_graph(&g, 12); /* density 0.5 */
    cr_assert_not(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_AUTO), "dense enough to run as a dense GEMM");
    cr_assert(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_SPARSE), "--sparse sparse keeps it");
    ir_free(&g);
}

/* A BSR weight [8, 12] in 4 x 4 blocks (block row 0: block column 1; block row 1: block columns 0 and 2) read by a
 * linear, values seeded and never zero. */
static int bsr_graph(ir_graph *g) {
    memset(g, 0, sizeof *g);
    float v[48];
    int32_t idx[3] = { 1, 0, 2 }, ptr[3] = { 0, 1, 3 };
    for (int i = 0; i < 48; i++) v[i] = (float)((i * 37) % 23) - 11.5f;
    int64_t wd[2] = { 8, 12 }, xd[2] = { 2, 12 }, yd[2] = { 2, 8 }, ni = 3, np = 3;
    int w = add_t(g, "w", INFER_F32, 2, wd, v, sizeof v);
    int it = add_t(g, "w.idx", INFER_I32, 1, &ni, idx, sizeof idx);
    int pt = add_t(g, "w.ptr", INFER_I32, 1, &np, ptr, sizeof ptr);
    g->tensors[w].storage.kind = IR_STORAGE_BSR;
    g->tensors[w].storage.block_rows = g->tensors[w].storage.block_cols = 4;
    g->tensors[w].storage.aux[0] = it;
    g->tensors[w].storage.aux[1] = pt;
    int x = add_t(g, "x", INFER_F32, 2, xd, NULL, 0), y = add_t(g, "y", INFER_F32, 2, yd, NULL, 0);
    add_node(g, OP_LINEAR, x, w, y, 1);
    return w;
}

Test(cuda_encoded, bsr_laid_out_as_csr_decodes_to_the_same_matrix) {
    ir_graph g;
    int w = bsr_graph(&g); /* 3 of 6 blocks: density 0.5 */
    cuda_csr_layout l;
    cr_assert(cuda_csr_layout_of(&g, &g.tensors[w], &l));
    cr_assert_eq(l.nnz, 48);
    cr_assert_eq(cuda_encoded_bytes(&g, &g.tensors[w]), l.bytes);
    uint8_t *d = malloc(l.bytes);
    cr_assert(cuda_encoded_fill(&g, &g.tensors[w], d));
    float want[96], got[96];
    cr_assert(ir_sparse_decode(&g, &g.tensors[w], want));
    memset(got, 0, sizeof got);
    const float *v = (const float *)d;
    const int32_t *idx = (const int32_t *)(d + l.off_idx), *ptr = (const int32_t *)(d + l.off_ptr);
    cr_assert_eq(ptr[0], 0);
    cr_assert_eq(ptr[8], 48);
    for (int r = 0; r < 8; r++)
        for (int k = ptr[r]; k < ptr[r + 1]; k++) {
            cr_assert(idx[k] >= 0 && idx[k] < 12);
            if (k > ptr[r]) cr_assert_gt(idx[k], idx[k - 1], "columns ascending within a row");
            got[r * 12 + idx[k]] = v[k];
        }
    cr_assert_eq(memcmp(got, want, sizeof got), 0);
    free(d);
    cr_assert_not(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_AUTO), "block density 0.5: dense GEMM");
    cr_assert(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_SPARSE));
    cr_assert_not(cuda_keeps_encoded(&g, w, 1, INFER_SPARSE_SPARSE), "FP16 engines densify BSR");
    g.tensors[w].storage.block_cols = 2; /* 4 x 2 blocks: not square */
    cr_assert_not(cuda_csr_layout_of(&g, &g.tensors[w], &l));
    ir_free(&g);
}

/* A 2:4 weight [16, 32] read by a linear: per group of 4 two values (never zero) at seeded positions. */
static int sparse24_graph(ir_graph *g, int64_t n, int64_t k) {
    memset(g, 0, sizeof *g);
    int64_t groups = n * k / 4;
    float *v = malloc((size_t)groups * 2 * sizeof(float));
    uint8_t *meta = calloc((size_t)(groups + 1) / 2, 1);
    for (int64_t q = 0; q < groups; q++) {
        unsigned a = (unsigned)(q * 7 % 4), b = (a + 1 + (unsigned)(q % 3)) % 4;
        if (a > b) a ^= b, b ^= a, a ^= b;
        meta[q / 2] |= (uint8_t)((a | b << 2) << (4 * (q % 2)));
        v[2 * q] = 0.25f + (float)(q % 13), v[2 * q + 1] = -0.5f - (float)(q % 5);
    }
    int64_t wd[2] = { n, k }, xd[2] = { 3, k }, yd[2] = { 3, n }, nm = (groups + 1) / 2;
    int w = add_t(g, "w", INFER_F32, 2, wd, v, (size_t)groups * 2 * sizeof(float));
    int mt = add_t(g, "w.meta", INFER_U8, 1, &nm, meta, (size_t)nm);
    g->tensors[w].storage.kind = IR_STORAGE_SPARSE_2_4;
    g->tensors[w].storage.aux[0] = mt;
    int x = add_t(g, "x", INFER_F32, 2, xd, NULL, 0), y = add_t(g, "y", INFER_F32, 2, yd, NULL, 0);
    add_node(g, OP_LINEAR, x, w, y, 1);
    free(v);
    free(meta);
    return w;
}

Test(cuda_encoded, sparse24_dense_half_layout_and_rule) {
    ir_graph g;
    int w = sparse24_graph(&g, 16, 32);
    cuda_24_layout l;
    cr_assert(cuda_24_layout_of(&g, &g.tensors[w], &l));
    cr_assert_eq(l.off_comp % 256, 0);
    cr_assert_geq(l.comp_reserve, (size_t)16 * 32 * 2, "room for cuSPARSELt's padding");
    cr_assert_eq(cuda_encoded_bytes(&g, &g.tensors[w]), l.bytes);
    uint8_t *d = malloc(l.bytes);
    cr_assert(cuda_encoded_fill(&g, &g.tensors[w], d));
    float want[16 * 32];
    cr_assert(ir_sparse_decode(&g, &g.tensors[w], want));
    const uint16_t *h = (const uint16_t *)d;
    for (int i = 0; i < 16 * 32; i++) cr_assert_eq(half_to_float(h[i]), want[i], "element %d", i);
    free(d);
#ifdef INFER_HAVE_CUSPARSELT
    cr_assert(cuda_keeps_encoded(&g, w, 1, INFER_SPARSE_AUTO), "FP16 engines keep 2:4 for cuSPARSELt");
#else
    cr_assert_not(cuda_keeps_encoded(&g, w, 1, INFER_SPARSE_AUTO), "without cuSPARSELt 2:4 densifies");
    cr_assert(strstr(cuda_densified_why(IR_STORAGE_SPARSE_2_4, OP_LINEAR, 1, INFER_SPARSE_AUTO), "not built in"));
#endif
    cr_assert_not(cuda_keeps_encoded(&g, w, 0, INFER_SPARSE_SPARSE), "FP32 needs 1:2 on cuSPARSELt: densified");
    cr_assert_not(cuda_keeps_encoded(&g, w, 1, INFER_SPARSE_DENSE));
    ir_free(&g);
    w = sparse24_graph(&g, 20, 32); /* N not a multiple of 16 */
    cr_assert_not(cuda_24_layout_of(&g, &g.tensors[w], &l));
    cr_assert_not(cuda_keeps_encoded(&g, w, 1, INFER_SPARSE_SPARSE));
    ir_free(&g);
}

static int keep_none(const ir_graph *g, int t, void *ctx) {
    (void)g, (void)t, (void)ctx;
    return 0;
}

Test(cuda_encoded, densified_weights_say_why) {
    ir_graph g;
    int w = bsr_graph(&g);
    g.outputs = malloc(sizeof *g.outputs);
    g.outputs[0] = g.nodes[0].out[0];
    g.n_outputs = 1;
    g.inputs = malloc(sizeof *g.inputs);
    g.inputs[0] = g.nodes[0].in[0];
    g.n_inputs = 1;
    g.tensors[g.inputs[0]].is_input = 1;
    g.tensors[g.outputs[0]].is_output = 1;
    infer_error err;
    cr_assert_eq(ir_densify_sparse_except(&g, keep_none, NULL, &err), INFER_OK, "%s", err.message);
    const ir_tensor *t = &g.tensors[g.nodes[0].in[1]];
    cr_assert_eq(t->storage.kind, IR_STORAGE_DENSE);
    cr_assert_eq(t->densified_from, IR_STORAGE_BSR, "the file's encoding is remembered");
    cr_assert(strstr(cuda_densified_why(t->densified_from, OP_LINEAR, 0, INFER_SPARSE_AUTO), "BSR sparse, densified"));
    cr_assert(strstr(cuda_densified_why(IR_STORAGE_CSR, OP_CONV2D, 0, INFER_SPARSE_AUTO), "no CUDA sparse kernel"));
    cr_assert_null(cuda_densified_why(IR_STORAGE_DENSE, OP_LINEAR, 0, INFER_SPARSE_AUTO));
    (void)w;
    ir_free(&g);
}
