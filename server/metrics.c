/* metrics.c — Prometheus text exposition: per model version counters, histograms and gauges, and the process. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model.h"

const double srv_batch_bounds[SRV_BATCH_BUCKETS - 1] = {1, 2, 4, 8, 16, 32, 64, 128};
const double srv_latency_bounds[SRV_LATENCY_BUCKETS - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,    0.25,  0.5,    1,     2.5,  5};

static const char *const code_names[] = {"ok", "invalid", "not_found", "unavailable", "timeout", "internal"};

void srv_metrics_request(srv_metrics *mt, srv_code code, int64_t elapsed_ns) {
    if (code == SRV_OK) atomic_fetch_add(&mt->success, 1);
    else atomic_fetch_add(&mt->failure[code], 1);
    atomic_fetch_add(&mt->request_ns, (uint64_t)elapsed_ns);
    int b = 0;
    while (b < SRV_LATENCY_BUCKETS - 1 && (double)elapsed_ns * 1e-9 > srv_latency_bounds[b]) b++;
    atomic_fetch_add(&mt->latency_hist[b], 1);
}

static void histogram(FILE *f, const char *name, const char *labels, const atomic_uint_fast64_t *counts,
                      const double *bounds, int buckets, double sum) {
    uint64_t total = 0;
    for (int b = 0; b < buckets; b++) {
        total += atomic_load(&counts[b]);
        if (b < buckets - 1) fprintf(f, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, bounds[b], (unsigned long long)total);
        else fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, (unsigned long long)total);
    }
    fprintf(f, "%s_sum{%s} %.9g\n%s_count{%s} %llu\n", name, labels, sum, name, labels, (unsigned long long)total);
}

static void model_metrics(FILE *f, struct srv_model *m) {
    char labels[512];
    snprintf(labels, sizeof labels, "model=\"%s\",version=\"%s\"", m->name, m->version_str);
    srv_metrics *mt = &m->metrics;
    fprintf(f, "infer_requests_total{%s,outcome=\"ok\"} %llu\n", labels, (unsigned long long)atomic_load(&mt->success));
    for (int c = SRV_INVALID; c <= SRV_INTERNAL; c++)
        fprintf(f, "infer_requests_total{%s,outcome=\"%s\"} %llu\n", labels, code_names[c],
                (unsigned long long)atomic_load(&mt->failure[c]));
    uint64_t failures = 0;
    for (int c = SRV_INVALID; c <= SRV_INTERNAL; c++) failures += atomic_load(&mt->failure[c]);
    fprintf(f, "infer_request_failures_total{%s} %llu\n", labels, (unsigned long long)failures);
    fprintf(f, "infer_queue_seconds_total{%s} %.9g\n", labels, (double)atomic_load(&mt->queue_ns) * 1e-9);
    fprintf(f, "infer_compute_seconds_total{%s} %.9g\n", labels, (double)atomic_load(&mt->compute_ns) * 1e-9);
    fprintf(f, "infer_executions_total{%s} %llu\n", labels, (unsigned long long)atomic_load(&mt->executions));
    fprintf(f, "infer_inferences_total{%s} %llu\n", labels, (unsigned long long)atomic_load(&mt->inferences));
    fprintf(f, "infer_inflight_requests{%s} %lld\n", labels, (long long)atomic_load(&mt->inflight));
    pthread_mutex_lock(&m->lock);
    int queued = m->queued;
    pthread_mutex_unlock(&m->lock);
    fprintf(f, "infer_queue_length{%s} %d\n", labels, queued);
    fprintf(f, "infer_queue_capacity{%s} %d\n", labels, m->cfg.max_queue);
    histogram(f, "infer_batch_size", labels, mt->batch_hist, srv_batch_bounds, SRV_BATCH_BUCKETS,
              (double)atomic_load(&mt->inferences));
    histogram(f, "infer_request_duration_seconds", labels, mt->latency_hist, srv_latency_bounds, SRV_LATENCY_BUCKETS,
              (double)atomic_load(&mt->request_ns) * 1e-9);
}

static void process_metrics(FILE *f) {
    char buf[2048];
    FILE *stat = fopen("/proc/self/stat", "r");
    size_t n = stat ? fread(buf, 1, sizeof buf - 1, stat) : 0;
    if (stat) fclose(stat);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the fields after the command name */
    unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
    long long rss = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %lld",
                    &utime, &stime, &start, &vsize, &rss) == 5) {
        double tick = (double)sysconf(_SC_CLK_TCK);
        double boot = 0;
        FILE *ps = fopen("/proc/stat", "r");
        char line[256];
        while (ps && fgets(line, sizeof line, ps))
            if (sscanf(line, "btime %lf", &boot) == 1) break;
        if (ps) fclose(ps);
        fprintf(f, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n", (double)(utime + stime) / tick);
        fprintf(f, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.2f\n", boot + (double)start / tick);
        fprintf(f, "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n", vsize);
        fprintf(f, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %lld\n",
                rss * (long long)sysconf(_SC_PAGESIZE));
    }
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));) fds += e->d_name[0] != '.';
    if (d) closedir(d);
    fprintf(f, "# TYPE process_open_fds gauge\nprocess_open_fds %d\n", fds - 1 /* the listing's own */);
}

static const char *const help_lines =
    "# HELP infer_requests_total Inference requests by outcome.\n# TYPE infer_requests_total counter\n"
    "# HELP infer_request_failures_total Inference requests that failed.\n# TYPE infer_request_failures_total counter\n"
    "# HELP infer_queue_seconds_total Time requests spent queued.\n# TYPE infer_queue_seconds_total counter\n"
    "# HELP infer_compute_seconds_total Engine time of the runs requests were part of.\n"
    "# TYPE infer_compute_seconds_total counter\n"
    "# HELP infer_executions_total Engine runs.\n# TYPE infer_executions_total counter\n"
    "# HELP infer_inferences_total Batch rows run.\n# TYPE infer_inferences_total counter\n"
    "# HELP infer_inflight_requests Requests received and not yet answered.\n# TYPE infer_inflight_requests gauge\n"
    "# HELP infer_queue_length Requests waiting for an engine.\n# TYPE infer_queue_length gauge\n"
    "# HELP infer_queue_capacity Queued requests beyond which requests are refused.\n# TYPE infer_queue_capacity gauge\n"
    "# HELP infer_batch_size Rows per engine run.\n# TYPE infer_batch_size histogram\n"
    "# HELP infer_request_duration_seconds Time from receipt to answer.\n"
    "# TYPE infer_request_duration_seconds histogram\n";

char *srv_core_metrics(srv_core *core, size_t *length) {
    char *text = NULL;
    FILE *f = open_memstream(&text, length);
    if (!f) return NULL;
    fputs(help_lines, f);
    for (int i = 0; i < srv_core_model_count(core); i++) model_metrics(f, srv_core_model_at(core, i));
    fprintf(f, "# HELP infer_server_ready 1 when every model's engines are built.\n# TYPE infer_server_ready gauge\n"
               "infer_server_ready %d\n", srv_core_ready(core));
    process_metrics(f);
    if (fclose(f)) {
        free(text);
        return NULL;
    }
    return text;
}
