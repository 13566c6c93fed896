/* embedding.c — y[..., :] = weight[id, :] for i64 or i32 ids, every id checked against [0, V) first. */
#include <string.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

#define EMBEDDING_TASK_BYTES 65536 /* bytes a parallel task copies at least */

typedef struct {
    const void *ids;
    int ids_i64;
    const uint8_t *weight;
    uint8_t *y;
    size_t row_bytes;
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

CPU_KERNEL(embedding) {
    const infer_tensor *ids = &in[0], *w = &in[1];
    if (ids->dtype != INFER_I64 && ids->dtype != INFER_I32)
        return infer_fail(err, INFER_ERR_DTYPE, "embedding: ids are %s, expected i64 or i32", infer_dtype_name(ids->dtype));
    if (w->ndim != 2 || out[0].dtype != w->dtype || infer_dtype_size(w->dtype) == 0)
        return infer_fail(err, INFER_ERR_SHAPE, "embedding: weight must be 2-D [V,D] with the output's dtype");
    int64_t count = infer_tensor_elements(ids), vocab = w->dims[0], d = w->dims[1];
    if (infer_tensor_elements(&out[0]) != count * d)
        return infer_fail(err, INFER_ERR_SHAPE, "embedding: output has %lld elements, expected %lld ids x %lld",
                          (long long)infer_tensor_elements(&out[0]), (long long)count, (long long)d);
    int ids_i64 = ids->dtype == INFER_I64;
    for (int64_t i = 0; i < count; i++) {
        int64_t id = id_at(ids->data, ids_i64, i);
        if (id < 0 || id >= vocab)
            return infer_fail(err, INFER_ERR_RUNTIME, "embedding: id %lld (at position %lld) is outside [0, %lld)",
                              (long long)id, (long long)i, (long long)vocab);
    }
    embedding_args args = { ids->data, ids_i64, w->data, out[0].data, (size_t)d * infer_dtype_size(w->dtype) };
    if (args.row_bytes == 0) return INFER_OK;
    int64_t grain = EMBEDDING_TASK_BYTES / (int64_t)args.row_bytes;
    pool_parallel_for(ctx->pool, count, grain > 1 ? grain : 1, embedding_rows, &args);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_embedding[] = {
    { .storages = CPU_DENSE, .run = cpu_embedding },
    { 0 },
};
