/* test_sparse.c — sparse weights on the CPU: the SpMM of every ISA against the dense product at densities 1%
 * to 100%, odd shapes and all-zero rows, columns and blocks; linear and conv2d with CSR, BSR and 2:4 weights
 * (sparse kernel and densified) against the dense kernels, with fused bias, residual and activation. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "kernel_util.h"
#include "testutil.h"
#include "../../kernels/cpu/sparse.h"
#include "../../kernels/cpu/gemm_internal.h"

static const double densities[] = { 0.01, 0.1, 0.5, 0.9, 1.0 };

/* Random [rows, cols] with about density non-zeros; row 1, column 2 and the block at (4..7, 4..7) all zero. */
static float *pruned(test_rng *r, int64_t rows, int64_t cols, double density, int b) {
    float *w = calloc((size_t)(rows * cols), sizeof *w);
    for (int64_t i = 0; i < rows; i += b)
        for (int64_t j = 0; j < cols; j += b) {
            if (rng_float(r, 0, 1) >= density) continue;
            for (int64_t u = i; u < i + b && u < rows; u++)
                for (int64_t v = j; v < j + b && v < cols; v++) w[u * cols + v] = rng_float(r, -1, 1);
        }
    for (int64_t j = 0; j < cols; j++) w[1 * cols + j] = 0.0f;
    for (int64_t i = 0; i < rows; i++) w[i * cols + 2] = 0.0f;
    for (int64_t i = 4; i < 8 && i < rows; i++)
        for (int64_t j = 4; j < 8 && j < cols; j++) w[i * cols + j] = 0.0f;
    return w;
}

/* Keeps the 2 largest |w| of every 4 along the rows. */
static void to_2_4(float *w, int64_t n) {
    for (int64_t q = 0; q < n; q += 4) {
        for (int drop = 0; drop < 2; drop++) {
            int small = -1;
            for (int k = 0; k < 4; k++)
                if (w[q + k] != 0.0f && (small < 0 || __builtin_fabsf(w[q + k]) < __builtin_fabsf(w[q + small]))) small = k;
            int nz = 0;
            for (int k = 0; k < 4; k++) nz += w[q + k] != 0.0f;
            if (nz > 2 && small >= 0) w[q + small] = 0.0f;
        }
    }
}

static int add_const(ir_graph *g, const char *name, infer_dtype dtype, int64_t count, const void *data, size_t bytes) {
    ir_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.dtype = dtype;
    t.ndim = 1;
    t.dims[0] = count;
    t.is_constant = 1;
    t.storage.aux[0] = t.storage.aux[1] = t.storage.aux[2] = IR_NONE;
    void *copy = ir_alloc(g, bytes ? bytes : 1);
    memcpy(copy, data, bytes);
    t.data = copy;
    t.nbytes = bytes;
    t.producer = IR_NONE;
    return ir_add_tensor(g, &t);
}

/* Adds dense w [dims] to g stored as kind (BSR: b x b blocks); returns its tensor. */
static int add_weight(ir_graph *g, const float *w, int ndim, const int64_t *dims, ir_storage_kind kind, int b) {
    int64_t rows = dims[0], cols = 1;
    for (int d = 1; d < ndim; d++) cols *= dims[d];
    float *val = malloc((size_t)(rows * cols + 1) * sizeof *val);
    int32_t *idx = malloc((size_t)(rows * cols + 1) * sizeof *idx), *ptr = malloc((size_t)(rows + 2) * sizeof *ptr);
    uint8_t *meta = calloc((size_t)(rows * cols / 8 + 1), 1);
    int64_t nv = 0, ni = 0;
    ir_storage st = { .kind = kind, .aux = { IR_NONE, IR_NONE, IR_NONE } };
    if (kind == IR_STORAGE_CSR || kind == IR_STORAGE_BSR) {
        int bh = kind == IR_STORAGE_BSR ? b : 1;
        ptr[0] = 0;
        for (int64_t br = 0; br < rows / bh; br++) {
            for (int64_t bc = 0; bc < cols / bh; bc++) {
                int any = 0;
                for (int i = 0; i < bh; i++)
                    for (int j = 0; j < bh; j++) any |= w[(br * bh + i) * cols + bc * bh + j] != 0.0f;
                if (!any) continue;
                idx[ni++] = (int32_t)bc;
                for (int i = 0; i < bh; i++)
                    for (int j = 0; j < bh; j++) val[nv++] = w[(br * bh + i) * cols + bc * bh + j];
            }
            ptr[br + 1] = (int32_t)ni;
        }
        st.aux[0] = add_const(g, "idx", INFER_I32, ni, idx, (size_t)ni * 4);
        st.aux[1] = add_const(g, "ptr", INFER_I32, rows / bh + 1, ptr, (size_t)(rows / bh + 1) * 4);
        st.block_rows = st.block_cols = bh;
    } else {
        for (int64_t q = 0; q < rows * cols / 4; q++) {
            int kept[2] = { 0, 1 }, n = 0;
            for (int k = 0; k < 4 && n < 2; k++)
                if (w[q * 4 + k] != 0.0f) kept[n++] = k;
            if (n == 1 && kept[0] == kept[1]) kept[1] = kept[0] == 3 ? 2 : kept[0] + 1;
            if (kept[0] > kept[1]) {
                int t = kept[0];
                kept[0] = kept[1];
                kept[1] = t;
            }
            val[nv++] = w[q * 4 + kept[0]];
            val[nv++] = w[q * 4 + kept[1]];
            meta[q / 2] |= (uint8_t)((kept[0] | kept[1] << 2) << (4 * (q % 2)));
        }
        st.aux[0] = add_const(g, "meta", INFER_U8, (rows * cols + 7) / 8, meta, (size_t)((rows * cols + 7) / 8));
    }
    int t = add_const(g, "w", INFER_F32, 1, val, (size_t)nv * 4);
    g->tensors[t].ndim = ndim;
    memcpy(g->tensors[t].dims, dims, (size_t)ndim * sizeof *dims);
    g->tensors[t].storage = st;
    free(val), free(idx), free(ptr), free(meta);
    return t;
}

static void dense_product(const float *w, int64_t rows, int64_t cols, const float *B, int64_t n, float *C) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t k = 0; k < cols; k++) s += (double)w[r * cols + k] * B[k * n + j];
            C[r * n + j] = (float)s;
        }
}

/* The packed matrix of a weight stored as kind, through the engine-build path. */
static float *pack(ir_graph *g, int t, sparse_matrix *m) {
    int bh, bw;
    size_t bytes;
    cr_assert_geq(sparse_count(g, &g->tensors[t], &bh, &bw, &bytes), 0);
    float *block = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    sparse_pack_matrix(g, &g->tensors[t], block, m);
    return block;
}

Test(sparse, spmm_every_isa_density_and_shape) {
    static const int64_t shapes[][3] = { { 37, 53, 1 }, { 37, 53, 7 }, { 36, 52, 33 }, { 20, 64, 300 }, { 8, 8, 16 } };
    test_rng r = rng_seed(7);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++)
            for (int kind = IR_STORAGE_CSR; kind <= IR_STORAGE_SPARSE_2_4; kind++) {
                int64_t rows = shapes[s][0], cols = shapes[s][1], n = shapes[s][2];
                int b = kind == IR_STORAGE_BSR ? 4 : 1;
                if ((b > 1 && (rows % 4 || cols % 4)) || (kind == IR_STORAGE_SPARSE_2_4 && cols % 4)) continue;
                float *w = pruned(&r, rows, cols, densities[d], b);
                if (kind == IR_STORAGE_SPARSE_2_4) to_2_4(w, rows * cols);
                float *B = rng_array(&r, cols * n, -1, 1), *want = malloc((size_t)(rows * n) * 4);
                float *got = malloc((size_t)(rows * n) * 4);
                dense_product(w, rows, cols, B, n, want);
                ir_graph g;
                memset(&g, 0, sizeof g);
                int64_t dims[2] = { rows, cols };
                int t = add_weight(&g, w, 2, dims, (ir_storage_kind)kind, b);
                sparse_matrix m;
                float *block = pack(&g, t, &m);
                cr_assert_eq(m.bh, b);
                for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++) {
                    for (int64_t i = 0; i < rows * n; i++) got[i] = 12345.0f; /* every element is written */
                    sparse_spmm_rows(isa, &m, 0, rows, B, n, n, got, n);
                    double e = rel_l2(got, want, rows * n);
                    cr_assert(e <= 1e-6, "isa %d, %s, %lldx%lldx%lld, density %.2f: rel L2 %g", isa,
                              ir_storage_name((ir_storage_kind)kind), (long long)rows, (long long)cols, (long long)n,
                              densities[d], e);
                }
                free(block), free(w), free(B), free(want), free(got);
                ir_free(&g);
            }
}

Test(sparse, densify_restores_every_storage) {
    test_rng r = rng_seed(3);
    for (int kind = IR_STORAGE_CSR; kind <= IR_STORAGE_SPARSE_2_4; kind++) {
        int64_t dims[4] = { 12, 2, 2, 3 };
        float *w = pruned(&r, 12, 12, 0.3, kind == IR_STORAGE_BSR ? 4 : 1), back[144];
        if (kind == IR_STORAGE_SPARSE_2_4) to_2_4(w, 144);
        ir_graph g;
        memset(&g, 0, sizeof g);
        int t = add_weight(&g, w, 4, dims, (ir_storage_kind)kind, 4);
        cr_assert(sparse_densify(&g, &g.tensors[t], back));
        cr_assert_eq(memcmp(back, w, sizeof back), 0, "%s", ir_storage_name((ir_storage_kind)kind));
        free(w);
        ir_free(&g);
    }
}

/* The form of op's sparse-weight kernel that force names: "sparse" or "dense" (the densified form). */
static const cpu_kernel *sparse_kernel(op_code op, const char *force) {
    int form = !strcmp(force, "sparse") ? CPU_FORM_SPARSE : CPU_FORM_DENSIFIED;
    const cpu_kernel *k = cpu_kernels_of(op);
    while (k->run && k->sparse_form != form) k++;
    cr_assert_not_null(k->run);
    cr_assert(k->storages & IR_STORAGE_BIT(IR_STORAGE_CSR));
    return k;
}

/* Runs op's kernel form `force` at n with its sparse weight input 1 packed by pack_size/pack, threads. */
static void run_sparse(op_code op, ir_graph *g, ir_node *n, infer_tensor *in, infer_tensor *out, int threads,
                       const char *force) {
    const cpu_kernel *k = sparse_kernel(op, force);
    cpu_ctx ctx = kernel_ctx(threads);
    size_t bytes = k->pack_size(g, n, in, ctx.isa, ctx.threads);
    cr_assert_gt(bytes, 0);
    void *block = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    k->pack(g, n, in, ctx.isa, ctx.threads, block);
    const sparse_packed *p = block;
    cr_assert_eq(p->run, !strcmp(force, "sparse") ? SPARSE_RUN_SPARSE : SPARSE_RUN_DENSE);
    ctx.prepacked = block;
    ctx.workspace_bytes = k->workspace ? k->workspace(n, in, out, ctx.threads) : 0;
    ctx.workspace = ctx.workspace_bytes ? malloc(ctx.workspace_bytes) : NULL;
    ctx.scratch = aligned_alloc(64, CPU_SCRATCH_BYTES * (size_t)ctx.threads);
    infer_error err;
    cr_assert_eq(k->run(&ctx, n, in, out, &err), INFER_OK, "%s", err.message);
    free(ctx.workspace), free(ctx.scratch), free(block);
    pool_destroy(ctx.pool);
}

/* y = relu(x · wᵀ + b + residual), M rows, against the dense kernel; residual in place when asked. */
static void check_linear(int64_t m, int64_t nn, int64_t kk, ir_storage_kind kind, double density, int threads,
                         const char *force, int in_place) {
    test_rng r = rng_seed((uint64_t)(m * 131 + nn * 7 + kk + kind));
    float *w = pruned(&r, nn, kk, density, kind == IR_STORAGE_BSR ? 4 : 1);
    if (kind == IR_STORAGE_SPARSE_2_4) to_2_4(w, nn * kk);
    float *x = rng_array(&r, m * kk, -1, 1), *bias = rng_array(&r, nn, -1, 1), *res = rng_array(&r, m * nn, -1, 1);
    float *want = malloc((size_t)(m * nn) * 4), *got = malloc((size_t)(m * nn) * 4);
    ir_node n = kernel_node(OP_LINEAR, 4);
    n.p.linear.act.kind = ACT_RELU;
    int64_t xd[2] = { m, kk }, wd[2] = { nn, kk }, bd[1] = { nn }, yd[2] = { m, nn };
    infer_tensor in[4] = { tview(INFER_F32, x, 2, xd), tview(INFER_F32, w, 2, wd), tview(INFER_F32, bias, 1, bd),
                           tview(INFER_F32, res, 2, yd) };
    infer_tensor out = tview(INFER_F32, want, 2, yd);
    cpu_ctx ctx = kernel_ctx(1);
    ctx.scratch = malloc(CPU_SCRATCH_BYTES);
    infer_error err;
    cr_assert_eq(cpu_linear(&ctx, &n, in, &out, &err), INFER_OK);
    free(ctx.scratch);
    ir_graph g;
    memset(&g, 0, sizeof g);
    n.in[1] = add_weight(&g, w, 2, wd, kind, 4);
    in[1].data = (void *)g.tensors[n.in[1]].data; /* the stored values, as the engine passes them */
    if (in_place) {
        memcpy(got, res, (size_t)(m * nn) * 4);
        in[3].data = got;
    }
    out.data = got;
    run_sparse(OP_LINEAR, &g, &n, in, &out, threads, force);
    double e = rel_l2(got, want, m * nn);
    cr_assert(e <= 1e-6, "linear %lldx%lldx%lld %s density %.2f %s threads %d in place %d: rel L2 %g", (long long)m,
              (long long)nn, (long long)kk, ir_storage_name(kind), density, force, threads, in_place, e);
    free(w), free(x), free(bias), free(res), free(want), free(got);
    ir_free(&g);
}

Test(sparse, linear_every_storage_against_dense) {
    for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++)
        for (int kind = IR_STORAGE_CSR; kind <= IR_STORAGE_SPARSE_2_4; kind++) {
            check_linear(1, 36, 52, (ir_storage_kind)kind, densities[d], 1, "sparse", 0);
            check_linear(5, 36, 52, (ir_storage_kind)kind, densities[d], 3, "sparse", 0);
            check_linear(300, 40, 24, (ir_storage_kind)kind, densities[d], 2, "sparse", 1);
            check_linear(5, 36, 52, (ir_storage_kind)kind, densities[d], 2, "dense", 0);
        }
    check_linear(1, 37, 53, IR_STORAGE_CSR, 0.1, 2, "sparse", 1);
    check_linear(3, 4, 53, IR_STORAGE_CSR, 0.3, 1, "dense", 0); /* few outputs: unpacked dense copy */
}

/* conv2d (k x k, stride, pad, groups, batch 2) with bias, residual and relu against the dense kernel. */
static void check_conv(int64_t cin, int64_t cout, int64_t k, int stride, int pad, int groups, ir_storage_kind kind,
                       double density, int threads, const char *force) {
    test_rng r = rng_seed((uint64_t)(cin * 31 + cout * 7 + k + stride + groups * 3 + kind));
    int64_t batch = 2, h = 9, wd_ = 11, cg = cin / groups, kg = cg * k * k;
    int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (wd_ + 2 * pad - k) / stride + 1;
    float *w = pruned(&r, cout, kg, density, kind == IR_STORAGE_BSR ? 4 : 1);
    if (kind == IR_STORAGE_SPARSE_2_4) to_2_4(w, cout * kg);
    float *x = rng_array(&r, batch * cin * h * wd_, -1, 1), *bias = rng_array(&r, cout, -1, 1);
    float *res = rng_array(&r, batch * cout * oh * ow, -1, 1);
    int64_t total = batch * cout * oh * ow;
    float *want = malloc((size_t)total * 4), *got = malloc((size_t)total * 4);
    ir_node n = kernel_node(OP_CONV2D, 4);
    n.p.conv2d.stride[0] = n.p.conv2d.stride[1] = stride;
    n.p.conv2d.padding[0] = n.p.conv2d.padding[1] = pad;
    n.p.conv2d.dilation[0] = n.p.conv2d.dilation[1] = 1;
    n.p.conv2d.groups = groups;
    n.p.conv2d.act.kind = ACT_RELU;
    int64_t xd[4] = { batch, cin, h, wd_ }, wdims[4] = { cout, cg, k, k }, bd[1] = { cout }, yd[4] = { batch, cout, oh, ow };
    infer_tensor in[4] = { tview(INFER_F32, x, 4, xd), tview(INFER_F32, w, 4, wdims), tview(INFER_F32, bias, 1, bd),
                           tview(INFER_F32, res, 4, yd) };
    infer_tensor out = tview(INFER_F32, want, 4, yd);
    cpu_ctx ctx = kernel_ctx(1);
    ctx.scratch = malloc(CPU_SCRATCH_BYTES);
    infer_error err;
    cr_assert_eq(cpu_conv2d(&ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    free(ctx.scratch);
    ir_graph g;
    memset(&g, 0, sizeof g);
    n.in[1] = add_weight(&g, w, 4, wdims, kind, 4);
    in[1].data = (void *)g.tensors[n.in[1]].data;
    if (!strcmp(force, "sparse")) { /* the residual in the output's storage: the sparse path reads it first */
        memcpy(got, res, (size_t)total * 4);
        in[3].data = got;
    }
    out.data = got;
    run_sparse(OP_CONV2D, &g, &n, in, &out, threads, force);
    double e = rel_l2(got, want, total);
    cr_assert(e <= 1e-6, "conv %lld->%lld k%lld s%d p%d g%d %s density %.2f %s: rel L2 %g", (long long)cin,
              (long long)cout, (long long)k, stride, pad, groups, ir_storage_name(kind), density, force, e);
    free(w), free(x), free(bias), free(res), free(want), free(got);
    ir_free(&g);
}

Test(sparse, conv2d_every_storage_against_dense) {
    for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++)
        for (int kind = IR_STORAGE_CSR; kind <= IR_STORAGE_SPARSE_2_4; kind++) {
            check_conv(12, 20, 1, 1, 0, 1, (ir_storage_kind)kind, densities[d], 2, "sparse");
            check_conv(8, 16, 3, 1, 1, 1, (ir_storage_kind)kind, densities[d], 1, "sparse");
            check_conv(8, 16, 3, 2, 1, 2, (ir_storage_kind)kind, densities[d], 3, "sparse");
            check_conv(12, 20, 1, 2, 0, 1, (ir_storage_kind)kind, densities[d], 2, "sparse");
            check_conv(8, 16, 3, 1, 1, 1, (ir_storage_kind)kind, densities[d], 2, "dense");
        }
}

/* Backends without sparse kernels get dense copies: values restored, storage dense, side tensors gone. */
Test(sparse, densify_pass_for_backends_without_sparse_kernels) {
    test_rng r = rng_seed(11);
    float *w = pruned(&r, 8, 12, 0.3, 1);
    ir_graph g;
    memset(&g, 0, sizeof g);
    int64_t dims[2] = { 8, 12 };
    int t = add_weight(&g, w, 2, dims, IR_STORAGE_CSR, 1);
    g.outputs = malloc(sizeof *g.outputs);
    g.outputs[0] = t;
    g.n_outputs = 1;
    g.tensors[t].is_output = 1;
    infer_error err;
    cr_assert_eq(ir_densify_sparse(&g, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(g.n_tensors, 1, "the column indices and row pointers are dropped");
    const ir_tensor *x = &g.tensors[g.outputs[0]];
    cr_assert_eq(x->storage.kind, IR_STORAGE_DENSE);
    cr_assert_eq(x->nbytes, sizeof(float) * 96);
    cr_assert_eq(memcmp(x->data, w, sizeof(float) * 96), 0);
    free(w);
    ir_free(&g);
}
