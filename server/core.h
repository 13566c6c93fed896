/* core.h — the serving core shared by the HTTP and gRPC front ends: models, queues, inference calls. */
#ifndef INFER_SERVER_CORE_H
#define INFER_SERVER_CORE_H

#include <stddef.h>
#include <stdint.h>
#include "infer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What went wrong, as both protocols classify it. */
typedef enum {
    SRV_OK = 0,
    SRV_INVALID,     /* HTTP 400, gRPC INVALID_ARGUMENT */
    SRV_NOT_FOUND,   /* HTTP 404, gRPC NOT_FOUND */
    SRV_UNAVAILABLE, /* HTTP 503, gRPC UNAVAILABLE: queue full, not ready, shutting down */
    SRV_TIMEOUT,     /* HTTP 504, gRPC DEADLINE_EXCEEDED */
    SRV_INTERNAL     /* HTTP 500, gRPC INTERNAL */
} srv_code;

typedef struct {
    srv_code code;
    char message[512];
} srv_error;

srv_code srv_fail(srv_error *err, srv_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int srv_http_status(srv_code code);

/* One input tensor of a request; the front end owns data until srv_core_infer returns. */
typedef struct {
    const char *name;
    infer_dtype dtype;
    int ndim;
    int64_t dims[INFER_MAX_DIMS];
    const void *data;
    size_t bytes;
} srv_input;

/* One output tensor of a result; data is owned by the result. */
typedef struct {
    const char *name; /* the model's name for it; valid while the server runs */
    infer_dtype dtype;
    int ndim;
    int64_t dims[INFER_MAX_DIMS];
    void *data;
    size_t bytes;
} srv_output;

typedef struct {
    const char *model_name, *model_version;
    int n_outputs;
    srv_output *outputs;
} srv_result;

void srv_result_free(srv_result *result);

/* Per-model settings: the server's defaults, overridden by REPO/<model>/config. */
typedef struct {
    int max_batch;          /* merged batch per engine run; 1 disables batching */
    int max_queue_delay_us; /* how long the oldest request may wait for a batch to fill */
    int max_queue;          /* queued requests beyond which a request is refused with 503 */
    int instances;          /* engines per model version, each with its own thread */
    int threads;            /* CPU threads for all instances together; 0: all cores */
    int timeout_ms;         /* per-request limit on the time spent queued */
    infer_device device;
    infer_precision precision;
    int cuda_graphs;        /* capture CUDA Graphs (engine option) */
} srv_model_config;

typedef struct srv_core srv_core;
typedef struct srv_model srv_model;

srv_core *srv_core_create(void);
/* Loads an .ifg file as NAME version VERSION (engines are built later, by srv_core_build). */
srv_code srv_core_add_model(srv_core *core, const char *name, int64_t version, const char *path,
                            const srv_model_config *config, srv_error *err);
/* Builds every model's engines and starts their schedulers; the server is ready afterwards. */
srv_code srv_core_build(srv_core *core, srv_error *err);
/* Refuses new requests from now on; returns when every accepted one is answered or after timeout_ms. */
void srv_core_drain(srv_core *core, int timeout_ms);
void srv_core_destroy(srv_core *core);

int srv_core_ready(const srv_core *core);
int srv_core_stopping(const srv_core *core); /* 1 from the start of srv_core_drain */
int srv_core_model_count(const srv_core *core);
srv_model *srv_core_model_at(srv_core *core, int index);
/* The model NAME at VERSION (NULL or "": its newest version). */
srv_model *srv_core_find(srv_core *core, const char *name, const char *version, srv_error *err);

const char *srv_model_name(const srv_model *m);
const char *srv_model_version(const srv_model *m);
int srv_model_ready(const srv_model *m);
const infer_model *srv_model_handle(const srv_model *m);
/* The model's versions, newest first, as strings ("3", "1"); count returned. */
int srv_core_versions(srv_core *core, const char *name, const char **versions, int max);
/* An input's or output's metadata shape: -1 where the batch is dynamic. */
void srv_model_input(const srv_model *m, int index, infer_tensor_info *info);
void srv_model_output(const srv_model *m, int index, infer_tensor_info *info);
int srv_model_max_batch(const srv_model *m);

/* Runs one request: checks it against the model, queues it, waits for its batch to run. requested:
 * output names to return (NULL, 0: all). timeout_us > 0 narrows the model's queue timeout. */
srv_code srv_core_infer(srv_core *core, srv_model *m, const srv_input *inputs, int n_inputs,
                        const char *const *requested, int n_requested, int64_t timeout_us, srv_result *result,
                        srv_error *err);

/* Counts a request a front end refused before it reached srv_core_infer (malformed, say). */
void srv_core_count_failure(srv_model *m, srv_code code);

/* The Prometheus text exposition of every model's counters and the process; caller frees. */
char *srv_core_metrics(srv_core *core, size_t *length);

/* KServe datatype names ("FP32", ...) and infer dtypes; 0 when the name has no infer dtype. */
const char *srv_datatype_name(infer_dtype dtype);
infer_dtype srv_datatype_parse(const char *name, srv_error *err);

int64_t srv_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif
