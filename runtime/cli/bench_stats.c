/* bench_stats.c — `infer bench` measurements: clock, latency statistics, host memory from /proc. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench_util.h"

double bench_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between the closest ranks (NumPy's default). */
static double percentile(const double *sorted, int64_t n, double p) {
    double pos = p * (double)(n - 1);
    int64_t lo = (int64_t)pos;
    if (lo >= n - 1) return sorted[n - 1];
    return sorted[lo] + (pos - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

void bench_latency_stats(double *ms, int64_t n, bench_latency *o) {
    memset(o, 0, sizeof *o);
    if (n <= 0) return;
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; i++) sum += ms[i];
    o->mean = sum / (double)n;
    for (int64_t i = 0; i < n; i++) sq += (ms[i] - o->mean) * (ms[i] - o->mean);
    o->std = n > 1 ? sqrt(sq / (double)(n - 1)) : 0.0;
    o->cov = o->mean > 0 ? o->std / o->mean : 0.0;
    o->min = ms[0];
    o->max = ms[n - 1];
    o->median = percentile(ms, n, 0.5);
    o->p90 = percentile(ms, n, 0.90);
    o->p95 = percentile(ms, n, 0.95);
    o->p99 = percentile(ms, n, 0.99);
    o->p999 = percentile(ms, n, 0.999);
}

static uint64_t status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    uint64_t kb = 0;
    size_t len = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, len) && line[len] == ':') {
            kb = strtoull(line + len + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb * 1024;
}

uint64_t bench_vm_hwm(void) { return status_kb("VmHWM"); }
uint64_t bench_vm_rss(void) { return status_kb("VmRSS"); }

int bench_reset_hwm(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    int bad = fputs("5", f) < 0;
    return (fclose(f) != 0 || bad) ? -1 : 0;
}
