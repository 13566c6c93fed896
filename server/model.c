/* model.c — a served model version: loads the file, builds its engine instances, starts and stops their workers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "model.h"

size_t srv_row_bytes(const infer_tensor_info *info) {
    size_t n = infer_dtype_size(info->dtype);
    for (int d = 1; d < info->ndim; d++) n *= (size_t)(info->dims[d] > 0 ? info->dims[d] : 0);
    return n;
}

srv_code srv_model_open(struct srv_model *m, srv_error *err) {
    infer_error ierr;
    if (infer_model_load(m->path, &m->model, &ierr) != INFER_OK)
        return srv_fail(err, SRV_INVALID, "model '%s' version %s: %s", m->name, m->version_str, ierr.message);
    m->n_in = infer_model_input_count(m->model);
    m->n_out = infer_model_output_count(m->model);
    m->in_info = calloc((size_t)m->n_in + 1, sizeof *m->in_info);
    m->out_info = calloc((size_t)m->n_out + 1, sizeof *m->out_info);
    if (!m->in_info || !m->out_info) return srv_fail(err, SRV_INTERNAL, "out of memory");
    m->batchable = m->n_in > 0;
    for (int i = 0; i < m->n_in; i++) {
        infer_model_input(m->model, i, &m->in_info[i]);
        m->batchable &= m->in_info[i].ndim > 0 && m->in_info[i].dims[0] == -1;
    }
    for (int i = 0; i < m->n_out; i++) {
        infer_model_output(m->model, i, &m->out_info[i]);
        m->batchable &= m->out_info[i].ndim > 0 && m->out_info[i].dims[0] == -1;
    }
    /* A model with a dynamic batch runs up to max_batch rows; one with a fixed batch runs one request at a time. */
    m->max_batch = m->batchable ? m->cfg.max_batch : 1;
    if (!m->batchable) m->cfg.max_batch = 1;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->work, &attr);
    pthread_condattr_destroy(&attr);
    return SRV_OK;
}

static srv_code build_instance(struct srv_model *m, srv_instance *inst, int threads, srv_error *err) {
    infer_engine_options opt;
    infer_engine_options_init(&opt);
    opt.device = m->cfg.device;
    opt.precision = m->cfg.precision;
    opt.max_batch = m->batchable ? m->max_batch : 0;
    opt.threads = threads;
    opt.cuda_graphs = m->cfg.cuda_graphs;
    infer_error ierr;
    inst->model = m;
    if (infer_engine_create(m->model, &opt, &inst->engine, &ierr) != INFER_OK)
        return srv_fail(err, SRV_INTERNAL, "model '%s' version %s: %s", m->name, m->version_str, ierr.message);
    inst->batch = calloc((size_t)m->max_batch, sizeof *inst->batch);
    inst->stage = calloc((size_t)m->n_in + 1, sizeof *inst->stage);
    if (!inst->batch || !inst->stage) return srv_fail(err, SRV_INTERNAL, "out of memory");
    for (int i = 0; m->max_batch > 1 && i < m->n_in; i++) {
        inst->stage[i] = aligned_alloc(64, (srv_row_bytes(&m->in_info[i]) * (size_t)m->max_batch + 63) / 64 * 64 + 64);
        if (!inst->stage[i]) return srv_fail(err, SRV_INTERNAL, "out of memory for batch staging");
    }
    return SRV_OK;
}

srv_code srv_model_start(struct srv_model *m, srv_error *err) {
    int n = m->cfg.instances;
    m->instances = calloc((size_t)n, sizeof *m->instances);
    if (!m->instances) return srv_fail(err, SRV_INTERNAL, "out of memory");
    m->n_instances = n;
    int threads = m->cfg.threads > 0 ? m->cfg.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    threads = threads / n > 0 ? threads / n : 1;
    for (int k = 0; k < n; k++) {
        srv_code code = build_instance(m, &m->instances[k], threads, err);
        if (code != SRV_OK) return code;
    }
    for (int k = 0; k < n; k++) {
        if (pthread_create(&m->instances[k].thread, NULL, srv_worker_main, &m->instances[k]))
            return srv_fail(err, SRV_INTERNAL, "cannot start a worker thread for model '%s'", m->name);
        m->instances[k].started = 1;
    }
    pthread_mutex_lock(&m->lock);
    m->ready = 1;
    pthread_mutex_unlock(&m->lock);
    return SRV_OK;
}

/* New requests are refused; workers run what is queued without waiting for batches to fill, then exit. */
void srv_model_drain(struct srv_model *m) {
    if (!m->model) return;
    pthread_mutex_lock(&m->lock);
    m->stopping = 1;
    m->ready = 0;
    pthread_cond_broadcast(&m->work);
    pthread_mutex_unlock(&m->lock);
}

void srv_model_stop(struct srv_model *m) {
    if (!m->model) return;
    srv_model_drain(m);
    for (int k = 0; k < m->n_instances; k++)
        if (m->instances[k].started) {
            pthread_join(m->instances[k].thread, NULL);
            m->instances[k].started = 0;
        }
}

void srv_model_close(struct srv_model *m) {
    srv_model_stop(m);
    for (int k = 0; k < m->n_instances; k++) {
        srv_instance *inst = &m->instances[k];
        infer_engine_destroy(inst->engine);
        for (int i = 0; inst->stage && i < m->n_in; i++) free(inst->stage[i]);
        free(inst->stage);
        free(inst->batch);
    }
    free(m->instances);
    if (m->model) {
        pthread_cond_destroy(&m->work);
        pthread_mutex_destroy(&m->lock);
    }
    free(m->in_info);
    free(m->out_info);
    infer_model_free(m->model);
    free(m->name);
    free(m->path);
}
