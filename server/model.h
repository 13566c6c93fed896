/* model.h — a served model version inside the core: its engines, its request queue and its counters. */
#ifndef INFER_SERVER_MODEL_H
#define INFER_SERVER_MODEL_H

#include <pthread.h>
#include <stdatomic.h>
#include "core.h"

/* Upper bounds of the batch-size and request-latency histograms (the last bucket is +Inf). */
#define SRV_BATCH_BUCKETS 9
#define SRV_LATENCY_BUCKETS 14
extern const double srv_batch_bounds[SRV_BATCH_BUCKETS - 1];
extern const double srv_latency_bounds[SRV_LATENCY_BUCKETS - 1];

typedef struct {
    atomic_uint_fast64_t success, failure[SRV_INTERNAL + 1]; /* failures indexed by srv_code */
    atomic_uint_fast64_t queue_ns, compute_ns, request_ns;   /* summed over requests */
    atomic_uint_fast64_t executions, inferences;             /* engine runs; batch rows run */
    atomic_uint_fast64_t batch_hist[SRV_BATCH_BUCKETS];
    atomic_uint_fast64_t latency_hist[SRV_LATENCY_BUCKETS];
    atomic_int_fast64_t inflight;
} srv_metrics;

enum { REQ_QUEUED, REQ_RUNNING, REQ_DONE };

/* A request while it is queued or running; it lives on the stack of the thread that waits for it. */
typedef struct srv_request {
    struct srv_request *prev, *next;
    const srv_input **in; /* one per model input, in the model's order */
    int64_t batch;
    int64_t enqueued_ns, deadline_ns;
    int state;
    srv_code code;
    char message[480];
    srv_output *outputs; /* one per model output, filled by the scheduler */
    pthread_cond_t done;
} srv_request;

typedef struct {
    struct srv_model *model;
    infer_engine *engine;
    void **stage;           /* per input: room for max_batch rows, where merged requests are copied */
    srv_request **batch;    /* the requests of the run in progress */
    pthread_t thread;
    int started;
} srv_instance;

struct srv_model {
    char *name;
    int64_t version;
    char version_str[24];
    char *path;
    infer_model *model;
    srv_model_config cfg;
    int n_in, n_out;
    infer_tensor_info *in_info, *out_info;
    int batchable; /* every input and output has a dynamic batch dim: requests can be merged */
    int max_batch; /* rows per engine run */
    srv_instance *instances;
    int n_instances;

    pthread_mutex_t lock; /* guards the queue, states and the flags below */
    pthread_cond_t work;
    srv_request *head, *tail;
    int queued, stopping, ready;
    srv_metrics metrics;
};

srv_code srv_model_open(struct srv_model *m, srv_error *err);
srv_code srv_model_start(struct srv_model *m, srv_error *err);
void srv_model_drain(struct srv_model *m);
void srv_model_stop(struct srv_model *m); /* drains, then joins the workers */
void srv_model_close(struct srv_model *m);

/* Queues a request (503 at once when the queue is full), then waits until it is done or timed out. */
srv_code srv_model_submit(struct srv_model *m, srv_request *req, srv_error *err);
void srv_model_wait(struct srv_model *m, srv_request *req);
/* The thread of one engine instance (scheduler.c). */
void *srv_worker_main(void *instance);

size_t srv_row_bytes(const infer_tensor_info *info);
void srv_metrics_request(srv_metrics *mt, srv_code code, int64_t elapsed_ns);

#endif
