/* test_storage.c — the storage-aware IR: encodings, quantization and sparse side data reach the graph, and a
 * node whose input storage no kernel takes is refused at engine build, naming node, storage and device. */
#include <criterion/criterion.h>
#include <string.h>
#include "test_ifg_util.h"
#include "engine_util.h"
#include "../../graph/graph.h"
#include "../../graph/ir_build.h"

static int tensor_named(const ir_graph *g, const char *name) {
    for (int t = 0; t < g->n_tensors; t++)
        if (!strcmp(g->tensors[t].name, name)) return t;
    cr_assert_fail("no tensor '%s'", name);
    return IR_NONE;
}

Test(storage, every_encoding_reaches_the_ir) {
    blob b = encoded_blob();
    ifg_file f;
    ir_graph g;
    infer_error err;
    cr_assert_eq(ifg_open_memory(b.bytes, b.size, &f, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(ir_build(&f, &g, &err), INFER_OK, "%s", err.message);
    const ir_tensor *pt = &g.tensors[tensor_named(&g, "pt")], *pc = &g.tensors[tensor_named(&g, "pc")];
    cr_assert_eq(pt->storage.kind, IR_STORAGE_INT8_TENSOR);
    cr_assert_float_eq(pt->storage.scale, 0.05f, 0.0f);
    cr_assert_eq(pt->storage.zero_point, 3);
    cr_assert_eq(pt->nbytes, 24, "stored: one byte per element");
    cr_assert_eq(ir_logical_bytes(pt), 24 * 4, "logical: f32");
    cr_assert_eq(pc->storage.kind, IR_STORAGE_INT8_CHANNEL);
    cr_assert_eq(pc->storage.axis, 0);
    cr_assert_eq(pc->storage.aux[0], tensor_named(&g, "pc.s"));
    cr_assert_eq(pc->storage.aux[1], tensor_named(&g, "pc.z"));
    const ir_tensor *csr = &g.tensors[tensor_named(&g, "csr")], *bsr = &g.tensors[tensor_named(&g, "bsr")];
    cr_assert_eq(csr->storage.kind, IR_STORAGE_CSR);
    cr_assert_eq(csr->storage.aux[0], tensor_named(&g, "csr.c"));
    cr_assert_eq(csr->storage.aux[1], tensor_named(&g, "csr.r"));
    cr_assert_eq(csr->storage.aux[2], IR_NONE);
    cr_assert_eq(bsr->storage.kind, IR_STORAGE_BSR);
    cr_assert(bsr->storage.block_rows == 2 && bsr->storage.block_cols == 3);
    const ir_tensor *sp = &g.tensors[tensor_named(&g, "sp")];
    cr_assert_eq(sp->storage.kind, IR_STORAGE_SPARSE_2_4);
    cr_assert_eq(sp->storage.aux[0], tensor_named(&g, "sp.m"));
    cr_assert_eq(g.tensors[0].storage.kind, IR_STORAGE_DENSE);
    ir_free(&g);
    ifg_close(&f);
    free(b.bytes);
}

/* y = linear(x, w) with w stored int8 per tensor: the CPU has no kernel for it yet. */
Test(storage, unmatched_storage_is_a_build_error) {
    int8_t q[12 * 5];
    for (int i = 0; i < 60; i++) q[i] = (int8_t)(i * 7 - 90);
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(-1, 5));
    uint32_t wt = ifg_writer_tensor(w, "fc.weight", INFER_F32, DIMS(12, 5), q, sizeof q);
    uint32_t y = tw_act(w, "y", INFER_F32, DIMS(-1, 12));
    tw_node(w, OP_LINEAR, "fc", TW_IDS(x, wt), TW_IDS(y));
    tw_graph(w, TW_IDS(x), TW_IDS(y));
    blob b = writer_blob(w);
    uint8_t *e = entry_of(b, IFG_SEC_TENSORS, wt);
    const float scale = 0.02f;
    e[T_ENCODING] = IFG_ENC_INT8_TENSOR;
    memcpy(e + T_SCALE, &scale, 4);
    restamp(b);
    infer_model *m = NULL;
    infer_error err;
    cr_assert_eq(model_from_bytes(b.bytes, b.size, &m, &err), INFER_OK, "%s", err.message);
    for (int optimize = 0; optimize < 2; optimize++) {
        infer_engine *eng = NULL;
        cr_assert_eq(engine_for(m, 4, optimize, 1, &eng, &err), INFER_ERR_UNSUPPORTED);
        cr_assert_null(eng);
        cr_assert(strstr(err.message, "node 0 'fc' (linear): no cpu kernel takes input 1 'fc.weight' stored as int8 "
                                      "per-tensor"),
                  "%s", err.message);
    }
    infer_model_free(m);
    free(b.bytes);
}
