/* scheduler.c — dynamic batching: a bounded queue per model version, one worker thread per engine
 * instance that merges queued requests along the batch dim, runs them and splits the outputs back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model.h"

/* ---- queue (m->lock held) ----------------------------------------------------- */

static void unlink_request(struct srv_model *m, srv_request *r) {
    if (r->prev) r->prev->next = r->next;
    else m->head = r->next;
    if (r->next) r->next->prev = r->prev;
    else m->tail = r->prev;
    r->prev = r->next = NULL;
    m->queued--;
}

static void finish(srv_request *r, srv_code code, const char *message) {
    r->code = code;
    if (message) snprintf(r->message, sizeof r->message, "%.400s", message);
    r->state = REQ_DONE;
    pthread_cond_signal(&r->done);
}

/* Requests with the same non-batch dims on every input can share a run. */
static int same_shape(const struct srv_model *m, const srv_request *a, const srv_request *b) {
    for (int i = 0; i < m->n_in; i++)
        if (a->in[i]->ndim != b->in[i]->ndim ||
            memcmp(a->in[i]->dims + 1, b->in[i]->dims + 1, (size_t)(a->in[i]->ndim - 1) * sizeof(int64_t)))
            return 0;
    return 1;
}

static void expire(struct srv_model *m, int64_t now) {
    for (srv_request *r = m->head, *next; r; r = next) {
        next = r->next;
        if (now >= r->deadline_ns) {
            unlink_request(m, r);
            finish(r, SRV_TIMEOUT, "the request timed out in the queue");
        }
    }
}

/* Rows that could run with the head request now. */
static int64_t ready_rows(const struct srv_model *m) {
    int64_t rows = 0;
    for (srv_request *r = m->head; r && rows < m->max_batch; r = r->next)
        if (same_shape(m, m->head, r) && rows + r->batch <= m->max_batch) rows += r->batch;
    return rows;
}

static int take_batch(struct srv_model *m, srv_request **batch) {
    int n = 0;
    int64_t rows = 0;
    srv_request *first = m->head;
    for (srv_request *r = m->head, *next; r && rows < m->max_batch; r = next) {
        next = r->next;
        if (r != first && (!m->batchable || !same_shape(m, first, r) || rows + r->batch > m->max_batch)) continue;
        unlink_request(m, r);
        r->state = REQ_RUNNING;
        batch[n++] = r;
        rows += r->batch;
        if (!m->batchable) break;
    }
    return n;
}

/* ---- running a batch (no lock held) ------------------------------------------- */

static void copy_outputs(struct srv_model *m, srv_request **batch, int n, const infer_tensor *outs, int64_t rows) {
    for (int o = 0; o < m->n_out; o++) {
        size_t bytes = (size_t)infer_tensor_elements(&outs[o]) * infer_dtype_size(outs[o].dtype);
        size_t row_bytes = rows > 0 ? bytes / (size_t)rows : 0, offset = 0;
        for (int k = 0; k < n; k++) {
            srv_request *r = batch[k];
            srv_output *out = &r->outputs[o];
            out->name = m->out_info[o].name;
            out->dtype = outs[o].dtype;
            out->ndim = outs[o].ndim;
            memcpy(out->dims, outs[o].dims, sizeof out->dims);
            out->bytes = n == 1 ? bytes : row_bytes * (size_t)r->batch;
            if (n > 1) out->dims[0] = r->batch;
            out->data = malloc(out->bytes ? out->bytes : 1);
            if (!out->data) {
                r->code = SRV_INTERNAL;
                snprintf(r->message, sizeof r->message, "out of memory for output '%s'", out->name);
                continue;
            }
            memcpy(out->data, (const char *)outs[o].data + offset, out->bytes);
            offset += out->bytes;
        }
    }
}

static srv_code status_code(infer_status s) {
    switch (s) {
    case INFER_ERR_ARGUMENT: case INFER_ERR_SHAPE: case INFER_ERR_DTYPE: case INFER_ERR_RUNTIME: return SRV_INVALID;
    default: return SRV_INTERNAL;
    }
}

/* One engine run over n requests; returns 0 when the run itself failed. */
static int run_batch(srv_instance *inst, srv_request **batch, int n) {
    struct srv_model *m = inst->model;
    infer_tensor ins[m->n_in + 1], outs[m->n_out + 1]; /* + 1: never a zero-length array */
    int64_t rows = 0;
    for (int k = 0; k < n; k++) rows += batch[k]->batch;
    for (int i = 0; i < m->n_in; i++) {
        const srv_input *first = batch[0]->in[i];
        ins[i].dtype = first->dtype;
        ins[i].ndim = first->ndim;
        memcpy(ins[i].dims, first->dims, sizeof ins[i].dims);
        ins[i].data = (void *)first->data;
        if (n == 1) continue;
        ins[i].dims[0] = rows;
        ins[i].data = inst->stage[i];
        size_t offset = 0;
        for (int k = 0; k < n; k++) {
            memcpy((char *)inst->stage[i] + offset, batch[k]->in[i]->data, batch[k]->in[i]->bytes);
            offset += batch[k]->in[i]->bytes;
        }
    }
    infer_error err;
    int64_t t0 = srv_now_ns();
    infer_status s = infer_engine_run(inst->engine, ins, m->n_in, outs, m->n_out, &err);
    int64_t t1 = srv_now_ns();
    if (s != INFER_OK) {
        if (n > 1) return 0;
        batch[0]->code = status_code(s);
        snprintf(batch[0]->message, sizeof batch[0]->message, "%.400s", err.message);
        return 1;
    }
    for (int o = 0; n > 1 && o < m->n_out; o++)
        if (outs[o].ndim < 1 || outs[o].dims[0] != rows) return 0; /* cannot be split by rows: run each alone */
    atomic_fetch_add(&m->metrics.executions, 1);
    atomic_fetch_add(&m->metrics.inferences, (uint64_t)rows);
    int bucket = 0;
    while (bucket < SRV_BATCH_BUCKETS - 1 && rows > srv_batch_bounds[bucket]) bucket++;
    atomic_fetch_add(&m->metrics.batch_hist[bucket], 1);
    for (int k = 0; k < n; k++) {
        batch[k]->code = SRV_OK;
        atomic_fetch_add(&m->metrics.queue_ns, (uint64_t)(t0 - batch[k]->enqueued_ns));
        atomic_fetch_add(&m->metrics.compute_ns, (uint64_t)(t1 - t0));
    }
    copy_outputs(m, batch, n, outs, rows);
    return 1;
}

void *srv_worker_main(void *arg) {
    srv_instance *inst = arg;
    struct srv_model *m = inst->model;
    int64_t delay_ns = (int64_t)m->cfg.max_queue_delay_us * 1000;
    pthread_mutex_lock(&m->lock);
    for (;;) {
        int64_t now = srv_now_ns();
        expire(m, now);
        if (!m->head) {
            if (m->stopping) break;
            pthread_cond_wait(&m->work, &m->lock);
            continue;
        }
        int64_t due = m->head->enqueued_ns + delay_ns;
        if (m->batchable && !m->stopping && now < due && ready_rows(m) < m->max_batch) {
            if (m->head->deadline_ns < due) due = m->head->deadline_ns;
            struct timespec ts = {due / 1000000000, due % 1000000000};
            pthread_cond_timedwait(&m->work, &m->lock, &ts);
            continue;
        }
        int n = take_batch(m, inst->batch);
        pthread_mutex_unlock(&m->lock);
        if (!run_batch(inst, inst->batch, n)) /* a merged run failed: run each alone to find whose input fails */
            for (int k = 0; k < n; k++) run_batch(inst, inst->batch + k, 1);
        pthread_mutex_lock(&m->lock);
        for (int k = 0; k < n; k++) finish(inst->batch[k], inst->batch[k]->code, NULL);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* ---- the front ends' side ------------------------------------------------------ */

srv_code srv_model_submit(struct srv_model *m, srv_request *req, srv_error *err) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&req->done, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_lock(&m->lock);
    srv_code code = SRV_OK;
    if (m->stopping) code = srv_fail(err, SRV_UNAVAILABLE, "the server is shutting down");
    else if (m->queued >= m->cfg.max_queue)
        code = srv_fail(err, SRV_UNAVAILABLE, "model '%s' has %d requests queued, the most it takes; retry later",
                        m->name, m->queued);
    if (code == SRV_OK) {
        req->state = REQ_QUEUED;
        req->prev = m->tail;
        req->next = NULL;
        if (m->tail) m->tail->next = req;
        else m->head = req;
        m->tail = req;
        m->queued++;
        pthread_cond_broadcast(&m->work);
    }
    pthread_mutex_unlock(&m->lock);
    if (code != SRV_OK) pthread_cond_destroy(&req->done);
    return code;
}

void srv_model_wait(struct srv_model *m, srv_request *req) {
    pthread_mutex_lock(&m->lock);
    while (req->state != REQ_DONE) {
        if (req->state == REQ_QUEUED) {
            if (srv_now_ns() >= req->deadline_ns) {
                unlink_request(m, req);
                finish(req, SRV_TIMEOUT, "the request timed out in the queue");
                break;
            }
            struct timespec ts = {req->deadline_ns / 1000000000, req->deadline_ns % 1000000000};
            pthread_cond_timedwait(&req->done, &m->lock, &ts);
        } else {
            pthread_cond_wait(&req->done, &m->lock);
        }
    }
    pthread_mutex_unlock(&m->lock);
    pthread_cond_destroy(&req->done);
}
