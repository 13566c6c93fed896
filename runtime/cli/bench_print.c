/* bench_print.c — `infer bench`'s human-readable report: timings, memory, warnings, per-layer table. */
#include <stdio.h>
#include "cli.h"
#include "bench_util.h"

static void print_layers(const bench_result *r) {
    int top = r->n_layers < BENCH_TOP_LAYERS ? r->n_layers : BENCH_TOP_LAYERS;
    printf("per-layer profile (mean over %lld profiled runs; top %d of %d layers by time):\n", (long long)r->runs, top,
           r->n_layers);
    printf("  %9s %6s  %-18s %-5s %-20s %s\n", "ms/run", "share", "op", "dev", "output", "layer");
    for (int i = 0; i < top; i++) {
        const bench_layer *l = &r->layers[i];
        char shape[96];
        int used = snprintf(shape, sizeof shape, "[");
        for (int d = 0; d < l->ndim && used < (int)sizeof shape; d++)
            used += snprintf(shape + used, sizeof shape - (size_t)used, "%s%lld", d ? "," : "", (long long)l->dims[d]);
        if (used < (int)sizeof shape) snprintf(shape + used, sizeof shape - (size_t)used, "]");
        printf("  %9.4f %5.1f%%  %-18s %-5s %-20s %s%s%s%s\n", l->ms_per_run, 100 * l->share, l->op, l->device, shape,
               l->name, l->weights ? "  (" : "", l->weights ? l->weights : "", l->weights ? ")" : "");
    }
    printf("  %9.4f %5.1f%%  total of all %d layers (mean latency %.4f ms; the rest is outside the layers)\n",
           r->layers_ms, 100.0, r->n_layers, r->lat.mean);
}

void bench_print_result(const bench_result *r, int profile) {
    const bench_latency *l = &r->lat;
    char b1[32], b2[32], b3[32];
    int cuda = r->device == INFER_DEVICE_CUDA;
    if (r->shape[0]) printf("== shape %s ==\n", r->shape);
    printf("== %s: batch %d, %s, %s, %d thread%s ==\n", r->model, r->batch, infer_device_name(r->device),
           infer_precision_name(r->precision), r->threads, r->threads == 1 ? "" : "s");
    printf("cold start     load %.2f ms, build %.2f ms, first run %.2f ms (total %.2f ms)\n", r->load_ms, r->build_ms,
           r->first_run_ms, r->load_ms + r->build_ms + r->first_run_ms);
    printf("timed runs     %lld in %.3f s, after a %.0f ms warm-up of %lld runs%s\n", (long long)r->runs, r->wall_s,
           r->warmup_ms, (long long)r->warmup_runs, profile ? " (profiling on: times include its overhead)" : "");
    if (r->id_range) printf("inputs         random, token ids in [0, %lld)\n", (long long)r->id_range);
    printf("latency (ms)   %9s %9s %9s %9s %9s %9s %9s %9s %9s %7s\n", "min", "mean", "median", "p90", "p95", "p99",
           "p99.9", "max", "std", "CoV");
    printf("               %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %6.2f%%\n", l->min, l->mean, l->median,
           l->p90, l->p95, l->p99, l->p999, l->max, l->std, 100 * l->cov);
    printf("throughput     %.2f inferences/s (batch %d x %lld runs / %.3f s)\n", r->throughput, r->batch,
           (long long)r->runs, r->wall_s);
    if (cuda) {
        printf("CUDA split     H2D %.4f ms, compute %.4f ms, D2H %.4f ms, host enqueue %.4f ms (means per run)\n",
               r->h2d_ms, r->compute_ms, r->d2h_ms, r->enqueue_ms);
        printf("CUDA Graphs    %s (%d captured), pinned host memory: %s\n", r->cuda_graphs ? "used" : "not used",
               r->cuda_graphs, r->pinned ? "yes" : "no");
        printf("device memory  %s\n", cli_human_bytes(r->device_bytes, b1, sizeof b1));
    }
    printf("host memory    peak %s (VmHWM of %s, less the %s of latency samples), RSS growth over the timed runs %s%s\n",
           cli_human_bytes(r->peak_host_bytes, b1, sizeof b1),
           r->peak_is_per_batch ? "this batch size" : "the whole process: could not reset it",
           cli_human_bytes(r->sample_bytes, b3, sizeof b3),
           r->rss_growth_bytes < 0 ? "-" : "+",
           cli_human_bytes((uint64_t)(r->rss_growth_bytes < 0 ? -r->rss_growth_bytes : r->rss_growth_bytes), b2,
                           sizeof b2));
    printf("               RSS after load %s, after build %s, after the first run %s\n",
           cli_human_bytes(r->rss_load, b1, sizeof b1), cli_human_bytes(r->rss_build, b2, sizeof b2),
           cli_human_bytes(r->rss_first_run, b3, sizeof b3));
    printf("memory budget  file %s + 1.2 x arena %s + 64 MiB = %s: %s (peak is %.0f%% of it)\n",
           cli_human_bytes(r->file_bytes, b1, sizeof b1), cli_human_bytes(r->arena_bytes, b2, sizeof b2),
           cli_human_bytes(r->budget_bytes, b3, sizeof b3), r->peak_host_bytes <= r->budget_bytes ? "holds" : "EXCEEDED",
           r->budget_bytes ? 100.0 * (double)r->peak_host_bytes / (double)r->budget_bytes : 0.0);
    if (r->peak_host_bytes > r->budget_bytes && r->winograd_layers)
        printf("note: %d layers run Winograd F(4x4,3x3), whose prepacked weights are 4x a 3x3 layer's; --winograd "
               "off trades their speed for memory\n", r->winograd_layers);
    if (l->cov > 0.05)
        printf("warning: unstable: latency CoV %.1f%% is over 5%%; close other programs, set --threads below the core "
               "count, or run longer (--duration)\n", 100 * l->cov);
    if (cuda && r->enqueue_ms > 0.8 * r->compute_ms)
        printf("warning: enqueue-bound: enqueuing takes %.4f ms of a %.4f ms forward; %s\n", r->enqueue_ms,
               r->compute_ms, r->cuda_graphs ? "the GPU waits on the host" : "use CUDA Graphs (drop --no-graph)");
    if (cuda && r->h2d_ms + r->d2h_ms > r->compute_ms)
        printf("warning: transfer-bound: H2D + D2H take %.4f ms against %.4f ms of compute; batch more work per "
               "transfer\n", r->h2d_ms + r->d2h_ms, r->compute_ms);
    if (r->warnings[0]) printf("engine warnings: %s\n", r->warnings);
    if (profile && r->layers) print_layers(r);
    printf("\n");
}
