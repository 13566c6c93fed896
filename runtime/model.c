/* model.c — infer_model: a mapped, validated .ifg file and the questions the API answers about it. */
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "../base/error.h"
#include "../base/ops.h"

static infer_status model_open(const char *path, const void *bytes, uint64_t size, infer_model **model,
                               infer_error *err);

infer_status infer_model_load(const char *path, infer_model **model, infer_error *err) {
    infer_error_clear(err);
    if (!path || !model) return infer_fail(err, INFER_ERR_ARGUMENT, "infer_model_load: path and model are required");
    return model_open(path, NULL, 0, model, err);
}

infer_status model_load_memory(const void *bytes, uint64_t size, const char *name, infer_model **model,
                               infer_error *err) {
    infer_error_clear(err);
    if (!bytes || !name || !model)
        return infer_fail(err, INFER_ERR_ARGUMENT, "model_load_memory: bytes, name and model are required");
    return model_open(name, bytes, size, model, err);
}

/* bytes NULL: maps the file at path; else validates bytes in place (path names it in messages). */
static infer_status model_open(const char *path, const void *bytes, uint64_t size, infer_model **model,
                               infer_error *err) {
    *model = NULL;
    infer_model *m = calloc(1, sizeof *m);
    model_shared *shared = calloc(1, sizeof *shared);
    char *path_copy = strdup(path);
    if (!m || !shared || !path_copy) {
        free(m);
        free(shared);
        free(path_copy);
        return infer_fail(err, INFER_ERR_MEMORY, "out of memory loading '%s'", path);
    }
    if (pthread_mutex_init(&shared->lock, NULL) != 0) {
        free(m);
        free(shared);
        free(path_copy);
        return infer_fail(err, INFER_ERR_MEMORY, "could not create the lock of the model '%s'", path);
    }
    infer_status s = bytes ? ifg_open_memory(bytes, size, &m->file, err)
                           : ifg_open(path, &m->file, err); /* its messages name the path */
    if (s != INFER_OK) {
        pthread_mutex_destroy(&shared->lock);
        free(m);
        free(shared);
        free(path_copy);
        return s;
    }
    m->shared = shared;
    m->path = path_copy;
    *model = m;
    return INFER_OK;
}

void infer_model_free(infer_model *model) {
    if (!model) return;
    if (model->shared) { /* what engines left (none when all were destroyed first, as they must be) */
        if (model->shared->free_data) model->shared->free_data(model->shared->data);
        pthread_mutex_destroy(&model->shared->lock);
        free(model->shared);
    }
    ifg_close(&model->file);
    free(model->path);
    free(model);
}

int infer_model_input_count(const infer_model *m) { return m ? (int)m->file.n_inputs : 0; }
int infer_model_output_count(const infer_model *m) { return m ? (int)m->file.n_outputs : 0; }

static infer_status tensor_info(const infer_model *m, uint32_t id, infer_tensor_info *info) {
    const ifg_tensor *t = &m->file.tensors[id];
    memset(info, 0, sizeof *info);
    info->name = t->name;
    info->dtype = t->dtype;
    info->ndim = t->ndim;
    for (int d = 0; d < INFER_MAX_DIMS; d++) {
        info->dims[d] = t->dims[d] < 0 ? -1 : t->dims[d];
        info->dim_index[d] = -1;
        if (t->dims[d] >= 0) continue;
        if (t->dims[d] == -1) { /* a 1.0 file's batch */
            info->dim_index[d] = 0;
            continue;
        }
        const ifg_expr *x = &m->file.exprs[IFG_EXPR_OF(t->dims[d])];
        if (!x->flags && x->n_factors == 1 && x->coef == 1 && !x->offset && x->power[0] == 1)
            info->dim_index[d] = (int)x->sym[0];
    }
    return INFER_OK;
}

int infer_model_dim_count(const infer_model *m) { return m ? (int)m->file.n_dyn_dims : 0; }

infer_status infer_model_dim(const infer_model *m, int index, infer_dim_info *info) {
    if (!m || !info || index < 0 || (uint32_t)index >= m->file.n_dyn_dims) return INFER_ERR_ARGUMENT;
    const ifg_dyn_dim *d = &m->file.dyn_dims[index];
    *info = (infer_dim_info){ d->name, d->min, d->max, d->example };
    return INFER_OK;
}

infer_status infer_model_input(const infer_model *m, int index, infer_tensor_info *info) {
    if (!m || !info || index < 0 || (uint32_t)index >= m->file.n_inputs) return INFER_ERR_ARGUMENT;
    return tensor_info(m, m->file.inputs[index], info);
}

infer_status infer_model_output(const infer_model *m, int index, infer_tensor_info *info) {
    if (!m || !info || index < 0 || (uint32_t)index >= m->file.n_outputs) return INFER_ERR_ARGUMENT;
    return tensor_info(m, m->file.outputs[index], info);
}

int infer_model_meta_count(const infer_model *m) { return m ? (int)m->file.n_meta : 0; }

infer_status infer_model_meta(const infer_model *m, int index, const char **key, const char **value) {
    if (!m || index < 0 || (uint32_t)index >= m->file.n_meta) return INFER_ERR_ARGUMENT;
    if (key) *key = m->file.meta[index].key;
    if (value) *value = m->file.meta[index].value;
    return INFER_OK;
}

const char *infer_model_meta_get(const infer_model *m, const char *key) {
    if (!m || !key) return NULL;
    for (uint32_t i = 0; i < m->file.n_meta; i++)
        if (strcmp(m->file.meta[i].key, key) == 0) return m->file.meta[i].value;
    return NULL;
}

int infer_model_node_count(const infer_model *m) { return m ? (int)m->file.n_nodes : 0; }

infer_status infer_model_node(const infer_model *m, int index, const char **op, const char **name) {
    if (!m || index < 0 || (uint32_t)index >= m->file.n_nodes) return INFER_ERR_ARGUMENT;
    if (op) *op = op_name(m->file.nodes[index].op);
    if (name) *name = m->file.nodes[index].name;
    return INFER_OK;
}

infer_status infer_model_stats_get(const infer_model *m, infer_model_stats *stats) {
    if (!m || !stats) return INFER_ERR_ARGUMENT;
    memset(stats, 0, sizeof *stats);
    stats->file_bytes = m->file.size;
    for (uint32_t i = 0; i < m->file.n_tensors; i++) {
        const ifg_tensor *t = &m->file.tensors[i];
        if (!t->is_constant) continue;
        int64_t n = 1;
        for (int d = 0; d < t->ndim; d++) n *= t->dims[d];
        stats->parameters += n;
        stats->bytes_per_dtype[t->dtype] += t->data_size;
        if (t->encoding >= 0 && t->encoding < INFER_STORAGE_COUNT) {
            stats->tensors_per_storage[t->encoding]++;
            stats->bytes_per_storage[t->encoding] += t->data_size;
        }
    }
    return INFER_OK;
}

const char *infer_storage_name(int storage) {
    return storage >= 0 && storage < IR_STORAGE_COUNT ? ir_storage_name((ir_storage_kind)storage) : "?";
}
