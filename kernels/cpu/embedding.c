/* embedding.c — y[..., :] = weight[id, :] for i64 or i32 ids, every id checked against [0, V) first; a table stored
 * int8 per row (one scale per row) is dequantized row by row as it is gathered. */
#include <stdio.h>
#include <string.h>
#include "cpu_kernels.h"
#include "s8_layer.h"
#include "../../base/error.h"

#define EMBEDDING_TASK_BYTES 65536 /* bytes a parallel task copies at least */

typedef struct {
    const void *ids;
    int ids_i64;
    const uint8_t *weight;
    uint8_t *y;
    size_t row_bytes;
    const float *row_scale; /* int8 table: V scales (row_bytes is then D, the output rows D floats) */
} embedding_args;

static int64_t id_at(const void *ids, int ids_i64, int64_t i) {
    return ids_i64 ? ((const int64_t *)ids)[i] : ((const int32_t *)ids)[i];
}

static void embedding_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const embedding_args *A = arg;
    for (int64_t i = begin; i < end; i++)
        memcpy(A->y + i * (int64_t)A->row_bytes, A->weight + id_at(A->ids, A->ids_i64, i) * (int64_t)A->row_bytes,
               A->row_bytes);
}

/* y[i, :] = scale[id] * q[id, :]: the values ir_dequantize_int8 gives, bit for bit. */
static void embedding_rows_s8(void *arg, int64_t begin, int64_t end, int thread) {
    const embedding_args *A = arg;
    int64_t d = (int64_t)A->row_bytes;
    for (int64_t i = begin; i < end; i++) {
        int64_t id = id_at(A->ids, A->ids_i64, i);
        const int8_t *q = (const int8_t *)A->weight + id * d;
        float s = A->row_scale[id], *y = (float *)A->y + i * d;
        for (int64_t j = 0; j < d; j++) y[j] = s * (float)q[j];
    }
}

/* The ids' dtype, the shapes, every id within [0, V); fills args but for the table's form. */
static infer_status check(const infer_tensor *in, const infer_tensor *out, embedding_args *args, int64_t *count,
                          infer_error *err) {
    const infer_tensor *ids = &in[0], *w = &in[1];
    if (ids->dtype != INFER_I64 && ids->dtype != INFER_I32)
        return infer_fail(err, INFER_ERR_DTYPE, "embedding: ids are %s, expected i64 or i32", infer_dtype_name(ids->dtype));
    if (w->ndim != 2 || out[0].dtype != w->dtype || infer_dtype_size(w->dtype) == 0)
        return infer_fail(err, INFER_ERR_SHAPE, "embedding: weight must be 2-D [V,D] with the output's dtype");
    int64_t vocab = w->dims[0], d = w->dims[1];
    *count = infer_tensor_elements(ids);
    if (infer_tensor_elements(&out[0]) != *count * d)
        return infer_fail(err, INFER_ERR_SHAPE, "embedding: output has %lld elements, expected %lld ids x %lld",
                          (long long)infer_tensor_elements(&out[0]), (long long)*count, (long long)d);
    int64_t n_ids = *count;
    int ids_i64 = ids->dtype == INFER_I64;
    for (int64_t i = 0; i < n_ids; i++) {
        int64_t id = id_at(ids->data, ids_i64, i);
        if (id < 0 || id >= vocab)
            return infer_fail(err, INFER_ERR_RUNTIME, "embedding: id %lld (at position %lld) is outside [0, %lld)",
                              (long long)id, (long long)i, (long long)vocab);
    }
    embedding_args a = { ids->data, ids_i64, w->data, out[0].data, (size_t)d * infer_dtype_size(w->dtype), NULL };
    *args = a;
    return INFER_OK;
}

CPU_KERNEL(embedding) {
    embedding_args args;
    int64_t count = 0;
    INFER_TRY(check(in, out, &args, &count, err));
    if (args.row_bytes == 0) return INFER_OK;
    int64_t grain = EMBEDDING_TASK_BYTES / (int64_t)args.row_bytes;
    pool_parallel_for(ctx->pool, count, grain > 1 ? grain : 1, embedding_rows, &args);
    return INFER_OK;
}

/* ---- int8 per-row table: its scales copied into the node's block at engine build ---- */

/* The row scales of weight w when it is int8 per channel along axis 0 (zero points absent or 0); else NULL. */
static const float *row_scales(const ir_graph *g, const ir_tensor *w) {
    const ir_storage *st = &w->storage;
    if (!w->is_constant || !w->data || w->dtype != INFER_F32 || st->kind != IR_STORAGE_INT8_CHANNEL || st->axis != 0 ||
        w->ndim != 2 || st->aux[0] == IR_NONE || w->nbytes != (uint64_t)(w->dims[0] * w->dims[1]))
        return NULL;
    const ir_tensor *s = &g->tensors[st->aux[0]];
    if (!s->data || s->nbytes != (uint64_t)w->dims[0] * sizeof(float)) return NULL;
    if (st->aux[1] != IR_NONE) {
        const ir_tensor *z = &g->tensors[st->aux[1]];
        if (!z->data || z->nbytes != (uint64_t)w->dims[0] * sizeof(int32_t)) return NULL;
        for (int64_t r = 0; r < w->dims[0]; r++)
            if (((const int32_t *)z->data)[r] != 0) return NULL;
    }
    return s->data;
}

static size_t embedding_s8_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads) {
    const ir_tensor *w = &g->tensors[n->in[1]];
    return row_scales(g, w) ? (size_t)w->dims[0] * sizeof(float) + 1 : 0; /* + 1: a table of no rows still packs */
}

static void embedding_s8_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads,
                              void *dst) {
    const ir_tensor *w = &g->tensors[n->in[1]];
    memcpy(dst, row_scales(g, w), (size_t)w->dims[0] * sizeof(float));
}

static void embedding_s8_describe(const void *packed, char *buf, size_t size) {
    snprintf(buf, size, "int8 per-row table, dequantized as gathered");
}

static int reads_packed(const ir_node *n, int k) { return 0; } /* the int8 table itself is read in place */

static infer_status cpu_embedding_s8(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                                     infer_error *err) {
    if (!ctx->prepacked)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "embedding '%s': the int8 table was not prepared at engine build: "
                          "it must be int8 per row (axis 0) with zero points 0", n->name);
    embedding_args args;
    int64_t count = 0;
    INFER_TRY(check(in, out, &args, &count, err));
    if (out[0].dtype != INFER_F32)
        return infer_fail(err, INFER_ERR_DTYPE, "embedding '%s': an int8 table gives f32 rows", n->name);
    args.row_bytes = (size_t)in[1].dims[1];
    args.row_scale = ctx->prepacked;
    if (args.row_bytes == 0) return INFER_OK;
    int64_t grain = EMBEDDING_TASK_BYTES / (int64_t)(args.row_bytes * sizeof(float));
    pool_parallel_for(ctx->pool, count, grain > 1 ? grain : 1, embedding_rows_s8, &args);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_embedding[] = {
    { .storages = CPU_DENSE, .run = cpu_embedding },
    { .storages = CPU_DENSE | CPU_INT8_CHANNEL, .run = cpu_embedding_s8, .prepack_input = reads_packed,
      .pack_size = embedding_s8_pack_size, .pack = embedding_s8_pack, .describe = embedding_s8_describe },
    { 0 },
};
