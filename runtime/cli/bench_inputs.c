/* bench_inputs.c — seeded random inputs for `infer bench`, with token ids below the model's vocabulary size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_util.h"
#include "../../base/ops.h"
#include "../../loaders/ifg.h"
#include "../../base/half.h"

int64_t bench_vocab_size(const char *path) {
    ifg_file f;
    infer_error err;
    if (ifg_open(path, &f, &err) != INFER_OK) return 0;
    int64_t vocab = 0;
    for (uint32_t n = 0; n < f.n_nodes; n++) {
        const ifg_node *node = &f.nodes[n];
        if (node->op != OP_EMBEDDING || node->n_inputs < 2 || node->inputs[1] >= f.n_tensors) continue;
        for (uint32_t i = 0; i < f.n_inputs; i++) {
            const ifg_tensor *w = &f.tensors[node->inputs[1]];
            if (node->inputs[0] == f.inputs[i] && w->ndim > 0 && (!vocab || w->dims[0] < vocab)) vocab = w->dims[0];
        }
    }
    ifg_close(&f);
    return vocab;
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint16_t f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    return (uint16_t)((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

infer_status bench_random_input(const infer_tensor_info *info, int batch, const int64_t *dims, int64_t id_range,
                                uint64_t seed, infer_tensor *t, infer_error *err) {
    memset(t, 0, sizeof *t);
    t->dtype = info->dtype;
    t->ndim = info->ndim;
    memcpy(t->dims, info->dims, sizeof t->dims);
    for (int d = 0; d < t->ndim; d++)
        if (t->dims[d] == -1) t->dims[d] = info->dim_index[d] >= 0 && dims ? dims[info->dim_index[d]] : batch;
    int64_t n = infer_tensor_elements(t);
    size_t esize = infer_dtype_size(t->dtype);
    if (!esize || n < 0) {
        err->status = INFER_ERR_UNSUPPORTED;
        snprintf(err->message, sizeof err->message, "input '%s': cannot generate random %s data", info->name,
                 infer_dtype_name(t->dtype));
        return err->status;
    }
    t->data = malloc((size_t)(n ? n : 1) * esize);
    if (!t->data) {
        err->status = INFER_ERR_MEMORY;
        snprintf(err->message, sizeof err->message, "out of memory for input '%s'", info->name);
        return err->status;
    }
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(&s);
        float u = (float)(r >> 40) / (float)(1 << 23) - 1.0f; /* uniform [-1, 1) from the top 24 bits */
        switch (t->dtype) {
        case INFER_F32: ((float *)t->data)[i] = u; break;
        case INFER_F16: ((uint16_t *)t->data)[i] = half_from_float(u); break;
        case INFER_BF16: ((uint16_t *)t->data)[i] = f32_to_bf16(u); break;
        case INFER_I64: ((int64_t *)t->data)[i] = (int64_t)(r % (uint64_t)id_range); break;
        case INFER_I32: ((int32_t *)t->data)[i] = (int32_t)(r % (uint64_t)id_range); break;
        case INFER_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(r & 1); break;
        case INFER_U8: ((uint8_t *)t->data)[i] = (uint8_t)r; break;
        case INFER_I8: ((int8_t *)t->data)[i] = (int8_t)(uint8_t)r; break;
        default: break;
        }
    }
    return INFER_OK;
}
