/* cmd_bench.c — `infer bench`: cold start, latency percentiles, throughput, memory and per-layer times of a model. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "cli_args.h"
#include "bench_util.h"
#include "../../loaders/npy.h"

#define MAX_BATCHES CLI_MAX_BATCHES
#define MAX_TENSORS CLI_MAX_TENSORS
#define DEFAULT_ID_RANGE 100
#define INPUT_SEED 20240601u

static void help(FILE *f) {
    fprintf(f,
            "usage: infer bench MODEL.ifg [options]\n\n"
            "Measures MODEL like trtexec: per batch size, cold start (file load, engine build, first run),\n"
            "then a warm-up, then timed runs (at least --iterations and at least --duration): latency\n"
            "min/mean/median/p90/p95/p99/p99.9/max/std/CoV, throughput (batch x runs / wall time), peak host\n"
            "memory (VmHWM) against the budget file + 1.2 x arena + 64 MiB, RSS growth over the timed runs,\n"
            "device memory, CUDA Graphs and pinned memory use.\n\n"
            "  --device auto|cpu|cuda      where to run (default auto)\n"
            "  --precision fp32|tf32|fp16|bf16  CUDA: fp32, tf32, fp16; CPU: fp32, bf16 (AVX512-BF16 or\n"
            "                              AMX-BF16 CPUs) (default fp32)\n"
            "  --bf16-kernel auto|avx512|amx  CPU bf16: vdpbf16ps or AMX tiles (default auto: AMX when present)\n"
            "  --sparse auto|sparse|dense     CPU, sparse weights: per layer the faster (timed at build), or forced\n"
            "  --winograd auto|off|on         CPU, FP32 3x3 stride-1 convs by Winograd F(4x4,3x3): auto (default:\n"
            "                              16+ channels, 32+ 4x4 tiles over the batch), off (im2col), on (all)\n"
            "  --int8-chain full|exact|off    CPU, INT8 models: u8 NHWC activations between static INT8 convolutions:\n"
            "                              full (default; residual blocks too), exact (bit for bit off), off\n"
            "  --fuse-dw on|off               CPU, f32: 1x1 + depthwise convolution pairs in strips of rows (default on)\n"
            "  --bf16-chain on|off            CPU bf16: BF16 NHWC activations between convolutions (default on)\n"
            "  --batch N | --batch 1,8,32  batch size(s), one engine each (default: the model's, 1 if dynamic)\n"
            "  --max NAME=N             a named dim's size (default: its size at conversion; batch: --batch)\n"
            "  --shape NAME=N,N,...     sizes of a named dim, one engine each (e.g. seq=64,128,256)\n"
            "  --threads N                 CPU threads (default: all cores)\n"
            "  --warmup MS                 warm-up before timing (default 200)\n"
            "  --duration S                least timed seconds, may be fractional (default 3)\n"
            "  --iterations N              least timed runs (default 10)\n"
            "  --inputs IN.npy...          run on these files (one per input) instead of random data\n"
            "  --id-range N                random token ids in [0, N) (default: the vocabulary size of the\n"
            "                              embedding an input feeds, else 100)\n"
            "  --profile                   time every layer; print the top %d layers and a total\n"
            "  --json FILE                 also write the results as JSON (an array for several batch sizes)\n"
            "  --no-graph                  no CUDA Graph capture\n"
            "  --gpu N                     CUDA device index (default 0)\n"
            "  --debug-sync                CUDA: synchronize after every node and name a failing one (slow)\n"
            "  -h, --help                  this help\n\n"
            "Random inputs are seeded: floats uniform in [-1,1), bools 0/1, integer ids in the id range.\n",
            BENCH_TOP_LAYERS);
}

/* NAME=N,N,...: the sizes of one named dim. */
static int parse_shapes(const char *s, bench_args *a) {
    const char *eq = s ? strchr(s, '=') : NULL;
    if (!eq || eq == s || eq - s >= (long)sizeof a->shape_dim) return -1;
    memcpy(a->shape_dim, s, (size_t)(eq - s));
    a->shape_dim[eq - s] = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", eq + 1);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (a->n_shapes == MAX_BATCHES || cli_parse_int(tok, 1, 1 << 30, &a->shapes[a->n_shapes])) return -1;
        a->n_shapes++;
    }
    return a->n_shapes ? 0 : -1;
}

static int parse_batches(const char *s, bench_args *a) {
    char buf[256];
    if (!s || strlen(s) >= sizeof buf) return -1;
    strcpy(buf, s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (a->n_batches == MAX_BATCHES || cli_parse_int(tok, 1, 1 << 20, &a->batches[a->n_batches])) return -1;
        a->n_batches++;
    }
    return a->n_batches ? 0 : -1;
}

int cli_parse_bench(int argc, char **argv, bench_args *a) {
    memset(a, 0, sizeof *a);
    infer_engine_options_init(&a->opt);
    a->warmup_ms = 200;
    a->iterations = 10;
    a->duration_s = 3.0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        int used = cli_engine_or_max_option("bench", argc, argv, &i, &a->opt, &a->maxes);
        if (used < 0) return EXIT_USAGE;
        if (used > 0) continue;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            return CLI_HELP;
        } else if (!strcmp(s, "--shape")) {
            if (a->n_shapes || parse_shapes(val, a))
                return cli_usage_error("bench", "--shape takes NAME=N,N,... like seq=64,128,256 (at most %d sizes)",
                                       MAX_BATCHES);
            i++;
        } else if (!strcmp(s, "--batch")) {
            if (a->n_batches || parse_batches(val, a))
                return cli_usage_error("bench", "--batch takes N or a list like 1,8,32 (at most %d sizes)", MAX_BATCHES);
            i++;
        } else if (!strcmp(s, "--warmup")) {
            if (cli_parse_int(val, 0, 3600000, &a->warmup_ms)) return cli_usage_error("bench", "--warmup takes milliseconds (0 or more)");
            i++;
        } else if (!strcmp(s, "--duration")) {
            a->duration_s = val ? strtod(val, &end) : -1;
            if (!val || !*val || *end || !(a->duration_s >= 0 && a->duration_s <= 86400))
                return cli_usage_error("bench", "--duration takes seconds (0 or more)");
            i++;
        } else if (!strcmp(s, "--iterations")) {
            if (cli_parse_int(val, 1, 1 << 30, &a->iterations)) return cli_usage_error("bench", "--iterations takes a positive number");
            i++;
        } else if (!strcmp(s, "--id-range")) {
            if (cli_parse_int(val, 1, 1 << 30, &a->id_range)) return cli_usage_error("bench", "--id-range takes a positive number");
            i++;
        } else if (!strcmp(s, "--inputs")) {
            while (i + 1 < argc && argv[i + 1][0] != '-' && a->n_inputs < MAX_TENSORS) a->inputs[a->n_inputs++] = argv[++i];
            if (!a->n_inputs) return cli_usage_error("bench", "--inputs needs at least one .npy file");
        } else if (!strcmp(s, "--json")) {
            if (!val) return cli_usage_error("bench", "--json needs a file name");
            a->json = argv[++i];
        } else if (!strcmp(s, "--profile")) {
            a->profile = 1;
        } else if (s[0] == '-') {
            return cli_usage_error("bench", "unknown option '%s'", s);
        } else if (!a->model) {
            a->model = s;
        } else {
            return cli_usage_error("bench", "one model at a time ('%s' is extra; input files go after --inputs)", s);
        }
    }
    if (!a->model) return cli_usage_error("bench", "no model file given");
    if (a->n_inputs && a->n_batches > 1) return cli_usage_error("bench", "--inputs fixes the batch; give one --batch at most");
    if (a->n_shapes && (a->n_batches > 1 || a->n_inputs))
        return cli_usage_error("bench", "--shape runs one engine per size: give at most one --batch and no --inputs");
    a->opt.profile = a->profile;
    return EXIT_OK;
}

/* Fills r->layers from the engine's profile, sorted by time. */
static int cmp_layer(const void *x, const void *y) {
    double a = ((const bench_layer *)x)->ms_per_run, b = ((const bench_layer *)y)->ms_per_run;
    return (a < b) - (a > b);
}

static void collect_layers(const infer_engine *e, bench_result *r) {
    int n = infer_engine_layer_count(e);
    r->layers = calloc(n > 0 ? (size_t)n : 1, sizeof *r->layers);
    if (!r->layers) return;
    for (int i = 0; i < n; i++) {
        infer_layer_info li;
        if (infer_engine_layer(e, i, &li) != INFER_OK) continue;
        bench_layer *l = &r->layers[r->n_layers++];
        l->name = strdup(li.name ? li.name : "");
        l->op = strdup(li.op ? li.op : "");
        l->device = strdup(li.device ? li.device : "");
        l->weights = li.weights ? strdup(li.weights) : NULL;
        l->ndim = li.ndim;
        memcpy(l->dims, li.dims, sizeof l->dims);
        l->ms_per_run = li.runs ? li.total_ms / (double)li.runs : 0.0;
        r->layers_ms += l->ms_per_run;
    }
    for (int i = 0; i < r->n_layers; i++) r->layers[i].share = r->layers_ms > 0 ? r->layers[i].ms_per_run / r->layers_ms : 0;
    qsort(r->layers, (size_t)r->n_layers, sizeof *r->layers, cmp_layer);
}

/* Warm-up, then timed runs; fills the run counts, latencies and throughput. */
static infer_status time_runs(const bench_args *a, infer_engine *e, const infer_tensor *in, int n_in, infer_tensor *out,
                              int n_out, bench_result *r, infer_error *err) {
    double start = bench_now_ms(), now = start;
    infer_status s = INFER_OK;
    while (s == INFER_OK && now - start < a->warmup_ms) {
        s = infer_engine_run(e, in, n_in, out, n_out, err);
        now = bench_now_ms();
        r->warmup_runs++;
    }
    r->warmup_ms = now - start;
    if (s != INFER_OK) return s;
    double per_run = r->warmup_runs ? r->warmup_ms / (double)r->warmup_runs : r->first_run_ms;
    double want = a->duration_s * 1e3 / (per_run > 1e-3 ? per_run : 1e-3) * 1.5 + 16;
    int64_t cap = want > (double)(1 << 26) ? (1 << 26) : (int64_t)want;
    if (cap < a->iterations) cap = a->iterations;
    double *ms = malloc((size_t)cap * sizeof *ms);
    if (!ms) {
        snprintf(err->message, sizeof err->message, "out of memory for %lld latency samples", (long long)cap);
        return err->status = INFER_ERR_MEMORY;
    }
    memset(ms, 0xFF, (size_t)cap * sizeof *ms); /* touch the pages now (not 0: malloc+memset 0 may become calloc) */
    if (a->profile) infer_engine_profile_reset(e);
    uint64_t rss = bench_vm_rss();
    double end = bench_now_ms() + a->duration_s * 1e3;
    start = now = bench_now_ms();
    int64_t n = 0;
    while (s == INFER_OK && (n < a->iterations || now < end)) {
        if (n == cap) {
            double *grown = realloc(ms, (size_t)cap * 2 * sizeof *ms);
            if (!grown) break;
            ms = grown;
            cap *= 2;
        }
        double t0 = bench_now_ms();
        s = infer_engine_run(e, in, n_in, out, n_out, err);
        now = bench_now_ms();
        ms[n++] = now - t0;
        infer_engine_stats split;
        infer_engine_stats_get(e, &split);
        r->h2d_ms += split.last_h2d_ms;
        r->compute_ms += split.last_compute_ms;
        r->d2h_ms += split.last_d2h_ms;
        r->enqueue_ms += split.last_enqueue_ms;
    }
    if (n > 0) {
        r->h2d_ms /= (double)n;
        r->compute_ms /= (double)n;
        r->d2h_ms /= (double)n;
        r->enqueue_ms /= (double)n;
    }
    r->rss_growth_bytes = (int64_t)bench_vm_rss() - (int64_t)rss;
    r->sample_bytes = (uint64_t)cap * sizeof *ms;
    uint64_t hwm = bench_vm_hwm();
    r->peak_host_bytes = hwm > r->sample_bytes ? hwm - r->sample_bytes : hwm;
    r->runs = n;
    r->wall_s = (now - start) / 1e3;
    r->throughput = r->wall_s > 0 ? (double)r->batch * (double)n / r->wall_s : 0;
    bench_latency_stats(ms, n, &r->lat);
    free(ms);
    return s;
}

/* One batch size: load, build, first run, warm-up, timed runs. files: --inputs, or NULL for random. */
static int bench_one(const bench_args *a, int batch, const infer_tensor *files, int64_t *id_range, bench_result *r) {
    infer_error err;
    infer_model *m = NULL;
    infer_engine *e = NULL;
    infer_tensor in[MAX_TENSORS], out[MAX_TENSORS];
    int n_in = 0, n_out = 0, n_random = 0, rc = EXIT_OK;
    memset(in, 0, sizeof in);
    malloc_trim(0); /* give the previous batch's memory back, so VmHWM starts from what this one holds */
    r->peak_is_per_batch = bench_reset_hwm() == 0;
    double t = bench_now_ms();
    if (infer_model_load(a->model, &m, &err) != INFER_OK) return cli_report(&err);
    r->load_ms = bench_now_ms() - t;
    r->rss_load = bench_vm_rss();
    n_in = infer_model_input_count(m);
    n_out = infer_model_output_count(m);
    if (n_in > MAX_TENSORS || n_out > MAX_TENSORS) {
        rc = cli_usage_error("bench", "the model has more than %d inputs or outputs", MAX_TENSORS);
        goto done;
    }
    if (files && a->n_inputs != n_in) {
        rc = cli_usage_error("bench", "the model takes %d input(s), %d file(s) given with --inputs", n_in, a->n_inputs);
        goto done;
    }
    infer_tensor_info first;
    if (files && n_in > 0 && infer_model_input(m, 0, &first) == INFER_OK && first.ndim > 0 && first.dims[0] == -1) {
        if (batch && batch != files[0].dims[0]) {
            rc = cli_usage_error("bench", "--batch %d, but the --inputs files have a batch of %lld", batch,
                                 (long long)files[0].dims[0]);
            goto done;
        }
        batch = (int)files[0].dims[0];
    }
    for (int i = 0; i < n_in && !files && !*id_range; i++) {
        infer_tensor_info info;
        infer_model_input(m, i, &info);
        if (info.dtype != INFER_I64 && info.dtype != INFER_I32) continue;
        *id_range = bench_vocab_size(a->model);
        if (!*id_range) *id_range = DEFAULT_ID_RANGE;
        if (r->peak_is_per_batch) bench_reset_hwm(); /* the lookup mapped the file a second time */
    }
    infer_engine_options opt = a->opt;
    opt.max_batch = batch;
    opt.dim_max = a->maxes.v;
    opt.n_dim_max = a->maxes.n;
    t = bench_now_ms();
    if (infer_engine_create(m, &opt, &e, &err) != INFER_OK) {
        rc = cli_report(&err);
        goto done;
    }
    r->build_ms = bench_now_ms() - t;
    r->rss_build = bench_vm_rss();
    infer_engine_stats st;
    infer_engine_stats_get(e, &st);
    r->batch = st.max_batch;
    int64_t dim_sizes[CLI_MAX_DIM_MAXES] = { 0 };
    for (int k = 0; k < infer_model_dim_count(m) && k < CLI_MAX_DIM_MAXES; k++) dim_sizes[k] = infer_engine_dim_max(e, k);
    for (; !files && n_random < n_in; n_random++) {
        infer_tensor_info info;
        infer_model_input(m, n_random, &info);
        if (info.dtype == INFER_I64 || info.dtype == INFER_I32) r->id_range = *id_range;
        if (bench_random_input(&info, r->batch, dim_sizes, *id_range, INPUT_SEED + (uint64_t)n_random, &in[n_random], &err) != INFER_OK) {
            rc = cli_report(&err);
            goto done;
        }
    }
    if (files) memcpy(in, files, (size_t)n_in * sizeof *in);
    t = bench_now_ms();
    if (infer_engine_run(e, in, n_in, out, n_out, &err) != INFER_OK) {
        rc = cli_report(&err);
        goto done;
    }
    r->first_run_ms = bench_now_ms() - t;
    r->rss_first_run = bench_vm_rss();
    if (time_runs(a, e, in, n_in, out, n_out, r, &err) != INFER_OK) {
        rc = cli_report(&err);
        goto done;
    }
    infer_model_stats ms;
    infer_model_stats_get(m, &ms);
    infer_engine_stats_get(e, &st); /* again: CUDA Graphs are captured while running */
    r->device = st.device;
    r->precision = st.precision;
    r->threads = st.threads;
    r->file_bytes = ms.file_bytes;
    r->weight_bytes = st.weight_bytes;
    r->arena_bytes = st.arena_bytes;
    r->budget_bytes = ms.file_bytes + (uint64_t)(1.2 * (double)st.arena_bytes) + (64ull << 20);
    r->device_bytes = st.device_bytes;
    r->cuda_graphs = st.cuda_graphs;
    r->pinned = st.pinned;
    snprintf(r->warnings, sizeof r->warnings, "%s", infer_engine_warnings(e));
    r->winograd_layers = 0;
    for (int i = 0; i < infer_engine_layer_count(e); i++) {
        infer_layer_info li;
        r->winograd_layers += infer_engine_layer(e, i, &li) == INFER_OK && li.weights && strstr(li.weights, "Winograd");
    }
    if (a->profile) collect_layers(e, r);
done:
    infer_engine_destroy(e);
    for (int i = 0; i < n_random; i++) free(in[i].data);
    infer_model_free(m);
    return rc;
}

static void free_results(bench_result *r, int n) {
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < r[i].n_layers; j++) {
            free(r[i].layers[j].name);
            free(r[i].layers[j].op);
            free(r[i].layers[j].device);
            free(r[i].layers[j].weights);
        }
        free(r[i].layers);
    }
}

int cmd_bench(int argc, char **argv) {
    bench_args a;
    int rc = cli_parse_bench(argc, argv, &a);
    if (rc == CLI_HELP) help(stdout);
    if (rc != EXIT_OK) return rc == CLI_HELP ? EXIT_OK : rc;
    infer_error err;
    infer_tensor files[MAX_TENSORS];
    int n_files = 0;
    while (rc == EXIT_OK && n_files < a.n_inputs) {
        if (npy_load(a.inputs[n_files], &files[n_files], &err) != INFER_OK) rc = cli_report(&err);
        else n_files++;
    }
    bench_result results[MAX_BATCHES];
    memset(results, 0, sizeof results);
    int n_batches = a.n_shapes ? a.n_shapes : a.n_batches ? a.n_batches : 1, done = 0;
    int64_t id_range = a.id_range;
    int given = a.maxes.n, slot = given;
    for (int k = 0; k < given; k++)
        if (a.n_shapes && !strcmp(a.maxes.v[k].name, a.shape_dim)) slot = k; /* --shape overrides a --max */
    for (; rc == EXIT_OK && done < n_batches; done++) {
        results[done].model = a.model;
        if (a.n_shapes) {
            snprintf(a.maxes.names[slot], sizeof a.maxes.names[slot], "%s", a.shape_dim);
            a.maxes.v[slot] = (infer_dim_max){ a.maxes.names[slot], a.shapes[done] };
            a.maxes.n = slot == given ? given + 1 : given;
            snprintf(results[done].shape, sizeof results[done].shape, "%s=%d", a.shape_dim, a.shapes[done]);
        }
        rc = bench_one(&a, a.n_shapes ? a.batches[0] : a.batches[done], a.n_inputs ? files : NULL, &id_range,
                       &results[done]);
        if (rc == EXIT_OK) bench_print_result(&results[done], a.profile);
    }
    if (rc == EXIT_OK && a.json && bench_write_json(a.json, results, n_batches, a.profile, &err) != INFER_OK)
        rc = cli_report(&err);
    free_results(results, done);
    for (int i = 0; i < n_files; i++) npy_free(&files[i]);
    return rc;
}
