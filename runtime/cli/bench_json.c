/* bench_json.c — `infer bench --json`: the measurements as JSON, written atomically. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "bench_util.h"

static void put_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7F) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void put_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.9g", v);
    else fputs("null", f);
}

static void put_key_num(FILE *f, const char *key, double v, int comma) {
    fprintf(f, "\"%s\": ", key);
    put_num(f, v);
    if (comma) fputs(", ", f);
}

static void put_layers(FILE *f, const bench_result *r) {
    fputs(",\n  \"layers\": [", f);
    for (int i = 0; i < r->n_layers; i++) {
        const bench_layer *l = &r->layers[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        fputs("\"name\": ", f);
        put_str(f, l->name);
        fputs(", \"op\": ", f);
        put_str(f, l->op);
        fputs(", \"device\": ", f);
        put_str(f, l->device);
        if (l->weights) {
            fputs(", \"weights\": ", f);
            put_str(f, l->weights);
        }
        fputs(", ", f);
        put_key_num(f, "ms", l->ms_per_run, 1);
        put_key_num(f, "share", l->share, 1);
        fputs("\"shape\": [", f);
        for (int d = 0; d < l->ndim; d++) fprintf(f, "%s%lld", d ? ", " : "", (long long)l->dims[d]);
        fputs("]}", f);
    }
    fputs("\n  ]", f);
}

static void put_result(FILE *f, const bench_result *r, int profile) {
    const bench_latency *l = &r->lat;
    int cuda = r->device == INFER_DEVICE_CUDA;
    fputs("{\n  \"model\": ", f);
    put_str(f, r->model);
    fputs(", \"device\": ", f);
    put_str(f, infer_device_name(r->device));
    fputs(", \"precision\": ", f);
    put_str(f, infer_precision_name(r->precision));
    fprintf(f, ", \"batch\": %d, \"shape\": \"%s\", \"threads\": %d,\n  ", r->batch, r->shape, r->threads);
    put_key_num(f, "cold_start_ms", r->load_ms + r->build_ms + r->first_run_ms, 0);
    fputs(",\n  \"cold_start_breakdown_ms\": {", f);
    put_key_num(f, "load", r->load_ms, 1);
    put_key_num(f, "build", r->build_ms, 1);
    put_key_num(f, "first_run", r->first_run_ms, 0);
    fputs("},\n  \"latency_ms\": {", f);
    put_key_num(f, "min", l->min, 1);
    put_key_num(f, "mean", l->mean, 1);
    put_key_num(f, "median", l->median, 1);
    put_key_num(f, "p90", l->p90, 1);
    put_key_num(f, "p95", l->p95, 1);
    put_key_num(f, "p99", l->p99, 1);
    put_key_num(f, "p999", l->p999, 1);
    put_key_num(f, "max", l->max, 1);
    put_key_num(f, "std", l->std, 1);
    put_key_num(f, "cov", l->cov, 0);
    fprintf(f, "},\n  \"runs\": %lld, \"warmup_runs\": %lld, ", (long long)r->runs, (long long)r->warmup_runs);
    put_key_num(f, "wall_s", r->wall_s, 1);
    put_key_num(f, "throughput_per_s", r->throughput, 0);
    fprintf(f, ",\n  \"peak_host_bytes\": %llu, \"peak_host_scope\": \"%s\", \"sample_buffer_bytes\": %llu,"
               " \"rss_growth_bytes\": %lld, \"peak_device_bytes\": %llu,\n",
            (unsigned long long)r->peak_host_bytes, r->peak_is_per_batch ? "batch" : "process",
            (unsigned long long)r->sample_bytes, (long long)r->rss_growth_bytes, (unsigned long long)r->device_bytes);
    fprintf(f, "  \"rss_after_bytes\": {\"load\": %llu, \"build\": %llu, \"first_run\": %llu},\n",
            (unsigned long long)r->rss_load, (unsigned long long)r->rss_build, (unsigned long long)r->rss_first_run);
    fprintf(f, "  \"file_bytes\": %llu, \"weight_bytes\": %llu, \"arena_bytes\": %llu, \"memory_budget_bytes\": %llu,"
               " \"memory_budget_ok\": %s,\n",
            (unsigned long long)r->file_bytes, (unsigned long long)r->weight_bytes, (unsigned long long)r->arena_bytes,
            (unsigned long long)r->budget_bytes, r->peak_host_bytes <= r->budget_bytes ? "true" : "false");
    fprintf(f, "  \"cuda_graphs\": %s, \"pinned\": %s, ", cuda && r->cuda_graphs ? "true" : "false",
            cuda && r->pinned ? "true" : "false");
    put_key_num(f, "h2d_ms", r->h2d_ms, 1);
    put_key_num(f, "compute_ms", r->compute_ms, 1);
    put_key_num(f, "d2h_ms", r->d2h_ms, 1);
    put_key_num(f, "enqueue_ms", r->enqueue_ms, 0);
    fprintf(f, ",\n  \"unstable\": %s", l->cov > 0.05 ? "true" : "false");
    if (profile) put_layers(f, r);
    fputs("\n}", f);
}

infer_status bench_write_json(const char *path, const bench_result *r, int n, int profile, infer_error *err) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        err->status = INFER_ERR_IO;
        snprintf(err->message, sizeof err->message, "cannot write '%.900s': %s", tmp, strerror(errno));
        return err->status;
    }
    if (n > 1) fputs("[\n", f);
    for (int i = 0; i < n; i++) {
        if (i) fputs(",\n", f);
        put_result(f, &r[i], profile);
    }
    fputs(n > 1 ? "\n]\n" : "\n", f);
    int bad = ferror(f) != 0;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        err->status = INFER_ERR_IO;
        snprintf(err->message, sizeof err->message, "cannot write '%.900s': %s", path, strerror(errno));
        unlink(tmp);
        return err->status;
    }
    return INFER_OK;
}
