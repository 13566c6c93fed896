/* core.c — the model table and the inference call both front ends use: find, check, queue, wait, answer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "model.h"

#define MAX_MODELS 256

struct srv_core {
    struct srv_model *models[MAX_MODELS];
    int n_models;
    atomic_int ready, stopping;
    atomic_int_fast64_t inflight;
};

int64_t srv_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

srv_code srv_fail(srv_error *err, srv_code code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int srv_http_status(srv_code code) {
    static const int status[] = {200, 400, 404, 503, 504, 500};
    return code <= SRV_INTERNAL ? status[code] : 500;
}

srv_core *srv_core_create(void) { return calloc(1, sizeof(srv_core)); }

srv_code srv_core_add_model(srv_core *core, const char *name, int64_t version, const char *path,
                            const srv_model_config *config, srv_error *err) {
    if (core->n_models >= MAX_MODELS) return srv_fail(err, SRV_INVALID, "more than %d model versions", MAX_MODELS);
    /* Names appear in URLs and metric labels: letters, digits, '_', '-', '.' only. */
    if (!*name || strlen(name) > 128 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
                                             strlen(name))
        return srv_fail(err, SRV_INVALID, "model name '%.128s' (from %.200s): use letters, digits, '_', '-' and '.' only",
                        name, path);
    for (int i = 0; i < core->n_models; i++)
        if (!strcmp(core->models[i]->name, name) && core->models[i]->version == version)
            return srv_fail(err, SRV_INVALID, "model '%s' version %lld is given twice", name, (long long)version);
    struct srv_model *m = calloc(1, sizeof *m);
    if (!m) return srv_fail(err, SRV_INTERNAL, "out of memory");
    m->name = strdup(name);
    m->path = strdup(path);
    m->version = version;
    snprintf(m->version_str, sizeof m->version_str, "%lld", (long long)version);
    m->cfg = *config;
    core->models[core->n_models++] = m;
    if (!m->name || !m->path) return srv_fail(err, SRV_INTERNAL, "out of memory");
    return srv_model_open(m, err);
}

srv_code srv_core_build(srv_core *core, srv_error *err) {
    for (int i = 0; i < core->n_models; i++) {
        srv_code code = srv_model_start(core->models[i], err);
        if (code != SRV_OK) return code;
    }
    atomic_store(&core->ready, 1);
    return SRV_OK;
}

void srv_core_drain(srv_core *core, int timeout_ms) {
    atomic_store(&core->ready, 0);
    atomic_store(&core->stopping, 1);
    for (int i = 0; i < core->n_models; i++) srv_model_drain(core->models[i]);
    int64_t until = srv_now_ns() + (int64_t)timeout_ms * 1000000;
    while (atomic_load(&core->inflight) > 0 && srv_now_ns() < until) usleep(2000);
    for (int i = 0; i < core->n_models; i++) srv_model_stop(core->models[i]);
}

void srv_core_destroy(srv_core *core) {
    if (!core) return;
    for (int i = 0; i < core->n_models; i++) {
        srv_model_close(core->models[i]);
        free(core->models[i]);
    }
    free(core);
}

int srv_core_ready(const srv_core *core) { return atomic_load(&core->ready); }
int srv_core_stopping(const srv_core *core) { return atomic_load(&core->stopping); }
int srv_core_model_count(const srv_core *core) { return core->n_models; }
srv_model *srv_core_model_at(srv_core *core, int index) { return core->models[index]; }
const char *srv_model_name(const srv_model *m) { return m->name; }
const char *srv_model_version(const srv_model *m) { return m->version_str; }
const infer_model *srv_model_handle(const srv_model *m) { return m->model; }
int srv_model_max_batch(const srv_model *m) { return m->max_batch; }
void srv_model_input(const srv_model *m, int index, infer_tensor_info *info) { *info = m->in_info[index]; }
void srv_model_output(const srv_model *m, int index, infer_tensor_info *info) { *info = m->out_info[index]; }

int srv_model_ready(const srv_model *m) {
    pthread_mutex_lock((pthread_mutex_t *)&m->lock);
    int ready = m->ready;
    pthread_mutex_unlock((pthread_mutex_t *)&m->lock);
    return ready;
}

srv_model *srv_core_find(srv_core *core, const char *name, const char *version, srv_error *err) {
    struct srv_model *best = NULL;
    int known = 0;
    for (int i = 0; i < core->n_models; i++) {
        struct srv_model *m = core->models[i];
        if (strcmp(m->name, name)) continue;
        known = 1;
        if (version && *version ? !strcmp(m->version_str, version) : !best || m->version > best->version) best = m;
    }
    if (!best && known)
        srv_fail(err, SRV_NOT_FOUND, "model '%s' has no version '%s'", name, version);
    else if (!best)
        srv_fail(err, SRV_NOT_FOUND, "unknown model '%s'", name);
    return best;
}

int srv_core_versions(srv_core *core, const char *name, const char **versions, int max) {
    int n = 0;
    for (int i = 0; i < core->n_models && n < max; i++) {
        if (strcmp(core->models[i]->name, name)) continue;
        int at = n++;
        while (at > 0 && atoll(versions[at - 1]) < core->models[i]->version) {
            versions[at] = versions[at - 1];
            at--;
        }
        versions[at] = core->models[i]->version_str;
    }
    return n;
}

/* ---- the inference call ---------------------------------------------------------- */

static srv_code check_inputs(const struct srv_model *m, const srv_input *inputs, int n, const srv_input **ordered,
                             int64_t *batch, srv_error *err) {
    for (int k = 0; k < n; k++) {
        int i = 0;
        while (i < m->n_in && strcmp(m->in_info[i].name, inputs[k].name)) i++;
        if (i == m->n_in) return srv_fail(err, SRV_INVALID, "model '%s' has no input '%.64s'", m->name, inputs[k].name);
        if (ordered[i]) return srv_fail(err, SRV_INVALID, "input '%.64s' is given twice", inputs[k].name);
        ordered[i] = &inputs[k];
    }
    *batch = 1;
    for (int i = 0; i < m->n_in; i++) {
        const infer_tensor_info *info = &m->in_info[i];
        const srv_input *in = ordered[i];
        if (!in) return srv_fail(err, SRV_INVALID, "input '%s' is missing", info->name);
        if (in->dtype != info->dtype)
            return srv_fail(err, SRV_INVALID, "input '%s': datatype %s given, the model takes %s", info->name,
                            srv_datatype_name(in->dtype), srv_datatype_name(info->dtype));
        int same = in->ndim == info->ndim;
        for (int d = 0; same && d < info->ndim; d++)
            same = info->dims[d] == -1 ? in->dims[d] >= 1 : in->dims[d] == info->dims[d];
        if (!same) {
            char want[160] = "", got[160] = "";
            for (int d = 0, o = 0; d < info->ndim; d++)
                o += snprintf(want + o, sizeof want - (size_t)o, "%s%lld", d ? "," : "", (long long)info->dims[d]);
            for (int d = 0, o = 0; d < in->ndim && d < INFER_MAX_DIMS; d++)
                o += snprintf(got + o, sizeof got - (size_t)o, "%s%lld", d ? "," : "", (long long)in->dims[d]);
            return srv_fail(err, SRV_INVALID, "input '%s': shape [%s] given, the model takes [%s] (-1: any batch)",
                            info->name, got, want);
        }
        if (m->batchable) {
            if (i > 0 && in->dims[0] != *batch)
                return srv_fail(err, SRV_INVALID, "input '%s' has batch %lld, input '%s' has %lld", info->name,
                                (long long)in->dims[0], m->in_info[0].name, (long long)*batch);
            *batch = in->dims[0];
            if (*batch > m->max_batch)
                return srv_fail(err, SRV_INVALID, "input '%s': batch %lld is more than model '%s' takes (%d)", info->name,
                                (long long)*batch, m->name, m->max_batch);
        }
        size_t want = srv_row_bytes(info) * (size_t)(info->ndim > 0 ? in->dims[0] : 1);
        if (info->ndim == 0) want = infer_dtype_size(info->dtype);
        if (in->bytes != want)
            return srv_fail(err, SRV_INVALID, "input '%s': %zu bytes given, its shape and datatype need %zu", info->name,
                            in->bytes, want);
    }
    return SRV_OK;
}

static srv_code select_outputs(const struct srv_model *m, const char *const *requested, int n_requested,
                               srv_request *req, srv_result *result, srv_error *err) {
    result->n_outputs = n_requested ? n_requested : m->n_out;
    result->outputs = calloc((size_t)result->n_outputs + 1, sizeof *result->outputs);
    if (!result->outputs) return srv_fail(err, SRV_INTERNAL, "out of memory");
    for (int k = 0; k < result->n_outputs; k++) {
        int o = k;
        if (n_requested)
            for (o = 0; strcmp(m->out_info[o].name, requested[k]); o++) {}
        result->outputs[k] = req->outputs[o];
        req->outputs[o].data = NULL; /* moved */
    }
    return SRV_OK;
}

srv_code srv_core_infer(srv_core *core, srv_model *m, const srv_input *inputs, int n_inputs,
                        const char *const *requested, int n_requested, int64_t timeout_us, srv_result *result,
                        srv_error *err) {
    int64_t start = srv_now_ns();
    memset(result, 0, sizeof *result);
    result->model_name = m->name;
    result->model_version = m->version_str;
    atomic_fetch_add(&core->inflight, 1);
    atomic_fetch_add(&m->metrics.inflight, 1);
    const srv_input *ordered[m->n_in + 1];
    memset(ordered, 0, sizeof ordered);
    srv_request req;
    memset(&req, 0, sizeof req);
    req.outputs = calloc((size_t)m->n_out + 1, sizeof *req.outputs);
    srv_code code = SRV_OK;
    if (!req.outputs) code = srv_fail(err, SRV_INTERNAL, "out of memory");
    else if (atomic_load(&core->stopping)) code = srv_fail(err, SRV_UNAVAILABLE, "the server is shutting down");
    else if (!srv_model_ready(m)) code = srv_fail(err, SRV_UNAVAILABLE, "model '%s' is not ready", m->name);
    if (code == SRV_OK) code = check_inputs(m, inputs, n_inputs, ordered, &req.batch, err);
    for (int k = 0; code == SRV_OK && k < n_requested; k++) {
        int o = 0;
        while (o < m->n_out && strcmp(m->out_info[o].name, requested[k])) o++;
        if (o == m->n_out) code = srv_fail(err, SRV_INVALID, "model '%s' has no output '%.64s'", m->name, requested[k]);
    }
    /* Kernels load elements at their natural alignment; binary tensor data after a JSON header may be anywhere. */
    srv_input aligned[m->n_in + 1];
    void *copies[m->n_in + 1];
    memset(copies, 0, sizeof copies);
    for (int i = 0; code == SRV_OK && i < m->n_in; i++) {
        if ((uintptr_t)ordered[i]->data % 64 == 0) continue;
        aligned[i] = *ordered[i];
        copies[i] = aligned_alloc(64, (ordered[i]->bytes + 63) / 64 * 64 + 64);
        if (!copies[i]) code = srv_fail(err, SRV_INTERNAL, "out of memory");
        else aligned[i].data = memcpy(copies[i], ordered[i]->data, ordered[i]->bytes), ordered[i] = &aligned[i];
    }
    if (code == SRV_OK) {
        int64_t limit_ns = (int64_t)m->cfg.timeout_ms * 1000000;
        if (timeout_us > 0 && timeout_us * 1000 < limit_ns) limit_ns = timeout_us * 1000;
        req.in = ordered;
        req.enqueued_ns = srv_now_ns();
        req.deadline_ns = req.enqueued_ns + limit_ns;
        code = srv_model_submit(m, &req, err);
        if (code == SRV_OK) {
            srv_model_wait(m, &req);
            code = req.code;
            if (code != SRV_OK) srv_fail(err, code, "%s", req.message);
        }
    }
    if (code == SRV_OK) code = select_outputs(m, requested, n_requested, &req, result, err);
    for (int o = 0; req.outputs && o < m->n_out; o++) free(req.outputs[o].data);
    free(req.outputs);
    for (int i = 0; i < m->n_in; i++) free(copies[i]);
    if (code != SRV_OK) srv_result_free(result);
    srv_metrics_request(&m->metrics, code, srv_now_ns() - start);
    atomic_fetch_sub(&m->metrics.inflight, 1);
    atomic_fetch_sub(&core->inflight, 1);
    return code;
}

void srv_core_count_failure(srv_model *m, srv_code code) { srv_metrics_request(&m->metrics, code, 0); }

void srv_result_free(srv_result *result) {
    for (int k = 0; result->outputs && k < result->n_outputs; k++) free(result->outputs[k].data);
    free(result->outputs);
    result->outputs = NULL;
    result->n_outputs = 0;
}
