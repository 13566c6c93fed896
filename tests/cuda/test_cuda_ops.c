/* test_cuda_ops.c — elementwise and shape ops on the GPU against the CPU kernels (FP32 1e-5, FP16 5e-3). */
#include "cuda_cases.h"

Test(cuda_ops, activation) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(1);
    for (int kind = 0; kind < ACT_COUNT; kind++) {
        ir_node n = t_node(OP_ACTIVATION, 1, 1);
        n.p.activation.kind = (act_kind)kind;
        n.p.activation.min = -1.0f, n.p.activation.max = 2.5f;
        infer_tensor in[1] = { t_rand(&r, SHAPE(3, 37, 5), -4, 4) };
        infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(3, 37, 5)) };
        char what[64];
        snprintf(what, sizeof what, "activation %s", act_name((act_kind)kind));
        ct_check(what, &n, in, out);
        t_free(in, 1);
    }
}

Test(cuda_ops, binary_broadcast_and_scalar) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(2);
    for (int kind = 0; kind < BIN_COUNT; kind++) {
        float alo = kind == BIN_POW ? 0.5f : -2, ahi = 2, blo = kind == BIN_POW ? -1.0f : kind == BIN_DIV ? 0.5f : -2,
              bhi = kind == BIN_POW ? 1.0f : 2;
        struct { int na; int64_t a[4]; int nb; int64_t b[4]; int no; int64_t o[4]; } cs[] = {
            { 3, { 5, 7, 9 }, 3, { 5, 7, 9 }, 3, { 5, 7, 9 } },
            { 3, { 5, 7, 9 }, 2, { 7, 1 }, 3, { 5, 7, 9 } },
            { 2, { 1, 9 }, 3, { 5, 7, 1 }, 3, { 5, 7, 9 } },
            { 4, { 2, 1, 3, 1 }, 3, { 4, 1, 5 }, 4, { 2, 4, 3, 5 } },
        };
        for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
            ir_node n = t_node(OP_BINARY, 2, 1);
            n.p.binary.kind = (binary_kind)kind;
            infer_tensor in[2] = { t_rand(&r, cs[c].na, cs[c].a, alo, ahi), t_rand(&r, cs[c].nb, cs[c].b, blo, bhi) };
            infer_tensor out[1] = { t_shape(INFER_F32, cs[c].no, cs[c].o) };
            char what[64];
            snprintf(what, sizeof what, "binary kind %d case %zu", kind, c);
            ct_check(what, &n, in, out);
            t_free(in, 2);
        }
        for (int rev = 0; rev < 2; rev++) {
            ir_node n = t_node(OP_BINARY, 1, 1);
            n.p.binary.kind = (binary_kind)kind;
            n.p.binary.scalar = kind == BIN_POW ? 0.75f : 1.5f;
            n.p.binary.reverse = rev;
            infer_tensor in[1] = { t_rand(&r, SHAPE(4, 33), kind == BIN_POW || (kind == BIN_DIV && rev) ? 0.5f : -2, 2) };
            infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(4, 33)) };
            char what[64];
            snprintf(what, sizeof what, "binary kind %d scalar reverse %d", kind, rev);
            ct_check(what, &n, in, out);
            t_free(in, 1);
        }
    }
}

Test(cuda_ops, unary) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(3);
    for (int kind = 0; kind < UN_COUNT; kind++) {
        ir_node n = t_node(OP_UNARY, 1, 1);
        n.p.unary.kind = (unary_kind)kind;
        int positive = kind == UN_LOG || kind == UN_SQRT || kind == UN_RSQRT || kind == UN_RECIPROCAL;
        infer_tensor in[1] = { t_rand(&r, SHAPE(7, 29), positive ? 0.5f : -3, positive ? 3 : 3) };
        infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(7, 29)) };
        char what[64];
        snprintf(what, sizeof what, "unary kind %d", kind);
        ct_check(what, &n, in, out);
        t_free(in, 1);
    }
}

Test(cuda_ops, softmax_rows_and_columns) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(4);
    struct { int nd; int64_t d[3]; int axis; } cs[] = {
        { 2, { 7, 33 }, -1 }, { 2, { 5, 1500 }, 1 }, { 3, { 3, 17, 6 }, 1 }, { 3, { 4, 3, 5 }, 0 },
    };
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++)
        for (int log = 0; log < 2; log++) {
            ir_node n = t_node(OP_SOFTMAX, 1, 1);
            n.p.softmax.axis = cs[c].axis;
            n.p.softmax.log = log;
            infer_tensor in[1] = { t_rand(&r, cs[c].nd, cs[c].d, -5, 5) };
            infer_tensor out[1] = { t_shape(INFER_F32, cs[c].nd, cs[c].d) };
            char what[64];
            snprintf(what, sizeof what, "softmax case %zu log %d", c, log);
            ct_check(what, &n, in, out);
            t_free(in, 1);
        }
}

Test(cuda_ops, reshape_and_transpose) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(5);
    ir_node n = t_node(OP_RESHAPE, 1, 1);
    n.p.shape.ndim = 2;
    n.p.shape.shape[0] = 12, n.p.shape.shape[1] = 5;
    infer_tensor in[1] = { t_rand(&r, SHAPE(3, 4, 5), -1, 1) };
    infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(12, 5)) };
    ct_check("reshape", &n, in, out);
    t_free(in, 1);

    int perms[3][4] = { { 0, 2, 3, 1 }, { 3, 2, 1, 0 }, { 1, 0, 2, 3 } };
    for (int p = 0; p < 3; p++) {
        ir_node t = t_node(OP_TRANSPOSE, 1, 1);
        t.p.transpose.ndim = 4;
        int64_t xd[4] = { 2, 3, 5, 7 }, yd[4];
        for (int i = 0; i < 4; i++) {
            t.p.transpose.perm[i] = perms[p][i];
            yd[i] = xd[perms[p][i]];
        }
        infer_tensor ti[1] = { t_rand(&r, 4, xd, -1, 1) };
        infer_tensor to[1] = { t_shape(INFER_F32, 4, yd) };
        ct_check("transpose f32", &t, ti, to);
        t_free(ti, 1);
        infer_tensor bi[1] = { t_bool(&r, 4, xd, 50) };
        infer_tensor bo[1] = { t_shape(INFER_BOOL, 4, yd) };
        ct_check("transpose bool", &t, bi, bo);
        t_free(bi, 1);
        infer_tensor li[1] = { t_ids(&r, 4, xd, 1000000, INFER_I64) };
        infer_tensor lo[1] = { t_shape(INFER_I64, 4, yd) };
        ct_check("transpose i64", &t, li, lo);
        t_free(li, 1);
    }
}

Test(cuda_ops, concat_slice_expand) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(6);
    ir_node n = t_node(OP_CONCAT, 3, 1);
    n.p.concat.axis = 1;
    infer_tensor in[3] = { t_rand(&r, SHAPE(2, 2, 5), -1, 1), t_rand(&r, SHAPE(2, 3, 5), -1, 1),
                           t_rand(&r, SHAPE(2, 4, 5), -1, 1) };
    infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(2, 9, 5)) };
    ct_check("concat axis 1", &n, in, out);
    t_free(in, 3);
    n.p.concat.axis = -1;
    infer_tensor in2[3] = { t_rand(&r, SHAPE(3, 2), -1, 1), t_rand(&r, SHAPE(3, 1), -1, 1), t_rand(&r, SHAPE(3, 6), -1, 1) };
    infer_tensor out2[1] = { t_shape(INFER_F32, SHAPE(3, 9)) };
    ct_check("concat axis -1", &n, in2, out2);
    t_free(in2, 3);

    struct { int64_t start, end, step, len; } sl[] = { { 1, 8, 3, 3 }, { -5, 100, 1, 5 }, { 0, 9, 10, 1 } };
    for (int c = 0; c < 3; c++) {
        ir_node s = t_node(OP_SLICE, 1, 1);
        s.p.slice.axis = 1, s.p.slice.start = sl[c].start, s.p.slice.end = sl[c].end, s.p.slice.step = sl[c].step;
        infer_tensor si[1] = { t_rand(&r, SHAPE(4, 9, 5), -1, 1) };
        infer_tensor so[1] = { t_shape(INFER_F32, SHAPE(4, sl[c].len, 5)) };
        ct_check("slice", &s, si, so);
        t_free(si, 1);
    }

    ir_node e = t_node(OP_EXPAND, 1, 1);
    e.p.shape.ndim = 4;
    int64_t target[4] = { 2, 3, 4, 5 };
    memcpy(e.p.shape.shape, target, sizeof target);
    infer_tensor ei[1] = { t_rand(&r, SHAPE(3, 1, 5), -1, 1) };
    infer_tensor eo[1] = { t_shape(INFER_F32, SHAPE(2, 3, 4, 5)) };
    ct_check("expand", &e, ei, eo);
    t_free(ei, 1);
}

Test(cuda_ops, where_masked_fill_compare) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(7);
    ir_node w = t_node(OP_WHERE, 3, 1);
    infer_tensor wi[3] = { t_bool(&r, SHAPE(4, 1), 50), t_rand(&r, SHAPE(4, 6), -1, 1), t_rand(&r, SHAPE(6), -1, 1) };
    infer_tensor wo[1] = { t_shape(INFER_F32, SHAPE(4, 6)) };
    ct_check("where", &w, wi, wo);
    t_free(wi, 3);

    ir_node m = t_node(OP_MASKED_FILL, 2, 1);
    m.p.masked_fill.value = -3.5f;
    infer_tensor mi[2] = { t_rand(&r, SHAPE(3, 4, 5), -1, 1), t_bool(&r, SHAPE(4, 1), 40) };
    infer_tensor mo[1] = { t_shape(INFER_F32, SHAPE(3, 4, 5)) };
    ct_check("masked_fill", &m, mi, mo);
    t_free(mi, 2);

    for (int kind = 0; kind < CMP_COUNT; kind++) {
        ir_node c = t_node(OP_COMPARE, 2, 1);
        c.p.compare.kind = (compare_kind)kind;
        infer_tensor ci[2] = { t_quarters(&r, SHAPE(4, 5), 1), t_quarters(&r, SHAPE(5), 1) };
        infer_tensor co[1] = { t_shape(INFER_BOOL, SHAPE(4, 5)) };
        ct_check("compare", &c, ci, co);
        t_free(ci, 2);
        ir_node cs = t_node(OP_COMPARE, 1, 1);
        cs.p.compare.kind = (compare_kind)kind;
        cs.p.compare.scalar = 0.25f;
        infer_tensor si[1] = { t_quarters(&r, SHAPE(6, 7), 1) };
        infer_tensor so[1] = { t_shape(INFER_BOOL, SHAPE(6, 7)) };
        ct_check("compare scalar", &cs, si, so);
        t_free(si, 1);
        infer_tensor li[2] = { t_ids(&r, SHAPE(4, 5), 3, INFER_I64), t_ids(&r, SHAPE(4, 5), 3, INFER_I64) };
        ct_check("compare i64", &c, li, co);
        t_free(li, 2);
    }
}

Test(cuda_ops, cast) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(8);
    infer_dtype pairs[][2] = { { INFER_F32, INFER_I64 }, { INFER_I64, INFER_F32 }, { INFER_F32, INFER_BOOL },
                               { INFER_BOOL, INFER_F32 }, { INFER_I32, INFER_I64 }, { INFER_I64, INFER_I32 },
                               { INFER_BOOL, INFER_I64 }, { INFER_F32, INFER_F16 }, { INFER_F16, INFER_F32 } };
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        ir_node n = t_node(OP_CAST, 1, 1);
        n.p.cast.dtype = pairs[p][1];
        infer_tensor in[1];
        if (pairs[p][0] == INFER_F32) in[0] = t_quarters(&r, SHAPE(5, 11), 8);
        else if (pairs[p][0] == INFER_BOOL) in[0] = t_bool(&r, SHAPE(5, 11), 50);
        else if (pairs[p][0] == INFER_F16) {
            in[0] = t_shape(INFER_F16, SHAPE(5, 11));
            uint16_t *h = malloc(55 * 2);
            for (int i = 0; i < 55; i++) h[i] = (uint16_t)(0x3C00 + (rng_u64(&r) % 2048) - 1024);
            in[0].data = h;
        } else in[0] = t_ids(&r, SHAPE(5, 11), 100000, pairs[p][0]);
        infer_tensor out[1] = { t_shape(pairs[p][1], SHAPE(5, 11)) };
        /* exact for non-floats; f32 outputs by L2 */
        for (int fp16 = 0; fp16 < 2; fp16++) {
            infer_precision pr = fp16 ? INFER_PRECISION_FP16 : INFER_PRECISION_FP32;
            double e = ct_compare_node(&n, in, out, pr, 0);
            cr_expect(e <= ct_tol(pr), "cast %s -> %s (%s): error %g", infer_dtype_name(pairs[p][0]),
                      infer_dtype_name(pairs[p][1]), infer_precision_name(pr), e);
        }
        t_free(in, 1);
    }
}

Test(cuda_ops, reduce) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(9);
    struct { int kind, naxes, axes[3], keep; int no; int64_t o[3]; } cs[] = {
        { RED_MEAN, 1, { 1 }, 0, 2, { 3, 5 } },  { RED_SUM, 1, { -1 }, 1, 3, { 3, 7, 1 } },
        { RED_MAX, 2, { 0, 2 }, 0, 1, { 7 } },   { RED_MIN, 0, { 0 }, 0, 0, { 0 } },
        { RED_MEAN, 2, { 1, 2 }, 1, 3, { 3, 1, 1 } },
    };
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        ir_node n = t_node(OP_REDUCE, 1, 1);
        n.p.reduce.kind = (reduce_kind)cs[c].kind;
        n.p.reduce.naxes = cs[c].naxes;
        for (int i = 0; i < cs[c].naxes; i++) n.p.reduce.axes[i] = cs[c].axes[i];
        n.p.reduce.keepdim = cs[c].keep;
        infer_tensor in[1] = { t_rand(&r, SHAPE(3, 7, 5), -2, 2) };
        infer_tensor out[1] = { t_shape(INFER_F32, cs[c].no, cs[c].o) };
        char what[64];
        snprintf(what, sizeof what, "reduce case %zu", c);
        ct_check(what, &n, in, out);
        t_free(in, 1);
    }
    /* a long contiguous row (the warp path) */
    ir_node n = t_node(OP_REDUCE, 1, 1);
    n.p.reduce.kind = RED_SUM;
    n.p.reduce.naxes = 1;
    n.p.reduce.axes[0] = 1;
    infer_tensor in[1] = { t_rand(&r, SHAPE(9, 4099), -1, 1) };
    infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(9)) };
    ct_check("reduce long rows", &n, in, out);
    t_free(in, 1);
}
