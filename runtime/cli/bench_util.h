/* bench_util.h — what `infer bench` measures and the helpers that measure, generate inputs and write JSON. */
#ifndef INFER_BENCH_UTIL_H
#define INFER_BENCH_UTIL_H

#include <stdint.h>
#include "infer.h"

#define BENCH_TOP_LAYERS 30

typedef struct {
    double min, mean, median, p90, p95, p99, p999, max, std, cov;
} bench_latency;

typedef struct {
    char *name, *op, *device;
    char *weights;          /* a sparse weight: how it runs (infer_layer_info.weights), else NULL */
    int ndim;
    int64_t dims[INFER_MAX_DIMS];
    double ms_per_run, share;
} bench_layer;

/* One batch size's measurements. */
typedef struct {
    const char *model;
    infer_device device;
    infer_precision precision;
    int batch, threads;
    char shape[96];        /* --shape: "seq=128"; else "" */
    double load_ms, build_ms, first_run_ms;
    int64_t warmup_runs, runs;
    double warmup_ms, wall_s, throughput;
    bench_latency lat;
    uint64_t file_bytes, weight_bytes, arena_bytes, budget_bytes;
    uint64_t peak_host_bytes;  /* VmHWM less the latency sample buffer (the benchmark's own memory) */
    uint64_t sample_bytes, device_bytes;
    uint64_t rss_load, rss_build, rss_first_run; /* VmRSS after each cold-start step */
    int64_t rss_growth_bytes;
    int peak_is_per_batch; /* 0: VmHWM could not be reset, so it covers the whole process */
    int cuda_graphs, pinned;
    double h2d_ms, compute_ms, d2h_ms, enqueue_ms; /* means over the timed runs (infer_engine_stats) */
    char warnings[512];    /* infer_engine_warnings after the runs */
    int winograd_layers;   /* CPU layers on Winograd F(4x4,3x3): 4x a 3x3 layer's weights, prepacked */
    int64_t id_range;      /* random token ids were drawn from [0, id_range); 0: none */
    bench_layer *layers;   /* --profile: sorted by time, descending */
    int n_layers;
    double layers_ms;      /* sum over layers, per run */
} bench_result;

double bench_now_ms(void);
/* Latency statistics of n samples (sorts them in place). */
void bench_latency_stats(double *ms, int64_t n, bench_latency *out);
/* VmHWM / VmRSS of this process in bytes; 0 when /proc is unreadable. */
uint64_t bench_vm_hwm(void);
uint64_t bench_vm_rss(void);
/* Resets VmHWM to the current RSS (/proc/self/clear_refs); 0 on success. */
int bench_reset_hwm(void);

/* Largest id range [0, N) valid for every integer input feeding an embedding (its weight's first dim),
 * read from the model file; 0 when no input feeds one. */
int64_t bench_vocab_size(const char *path);
/* Seeded random tensor for info at batch: floats uniform [-1,1), ids in [0, id_range), bools 0/1. */
/* dims: the size of each named dim (infer_model_dim index), for inputs' dims other than a -1 batch. */
infer_status bench_random_input(const infer_tensor_info *info, int batch, const int64_t *dims, int64_t id_range,
                                uint64_t seed,
                                infer_tensor *t, infer_error *err);

/* Prints one batch size's results (and with profile the top layers) to stdout. */
void bench_print_result(const bench_result *r, int profile);
/* Writes results as one JSON object (n == 1) or an array, atomically (temporary file, then rename). */
infer_status bench_write_json(const char *path, const bench_result *r, int n, int profile, infer_error *err);

#endif
