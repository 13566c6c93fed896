/* cmd_run.c — `infer run`: runs a model on .npy inputs and writes .npy outputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "cli_args.h"
#include "../../loaders/npy.h"

#define MAX_FILES CLI_MAX_FILES

static void help(FILE *f) {
    fprintf(f,
            "usage: infer run MODEL.ifg IN.npy... (-o OUT.npy... | --out-dir DIR) [options]\n\n"
            "Runs MODEL on one .npy file per model input (in order) and writes one .npy file per output.\n\n"
            "  -o, --output OUT.npy...  output files, one per model output, in order\n"
            "  --out-dir DIR            write each output to DIR/<output name>.npy\n"
            "  --device auto|cpu|cuda   where to run (default auto: CUDA when a GPU is usable)\n"
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
            "  --threads N              CPU threads (default: all cores)\n"
            "  --no-optimize            skip graph passes (BN folding, fusion)\n"
            "  --no-graph               no CUDA Graph capture\n"
            "  --gpu N                  CUDA device index (default 0)\n"
            "  --debug-sync             CUDA: synchronize after every node and name a failing one (slow)\n"
            "  --print                  print a summary of each output (top-5 for 2-D logits)\n"
            "  --max NAME=N             largest size of named dim NAME (default: the input files' sizes); sizes\n"
            "                           above it or outside the model's range are refused\n"
            "  -h, --help               this help\n");
}

/* The engine is built for the sizes the input files have, unless --max set a dim: the engine refuses
 * sizes above a --max or outside the model's range, naming the dim. */
static void size_maxima(const infer_model *m, int input, const infer_tensor *t, run_args *a) {
    infer_tensor_info info;
    if (infer_model_input(m, input, &info) != INFER_OK || info.ndim != t->ndim) return;
    for (int d = 0; d < info.ndim; d++) {
        infer_dim_info dim;
        if (info.dims[d] >= 0 || info.dim_index[d] < 0 || infer_model_dim(m, info.dim_index[d], &dim) != INFER_OK)
            continue;
        int k = 0;
        while (k < a->maxes.n && strcmp(a->maxes.v[k].name, dim.name)) k++;
        if (k < a->maxes.given) continue; /* --max NAME=N */
        if (!strcmp(dim.name, "batch")) { /* max_batch, as before named dims */
            if (a->opt.max_batch < t->dims[d]) a->opt.max_batch = (int)(t->dims[d] > INT32_MAX ? INT32_MAX : t->dims[d]);
            continue;
        }
        if (k == a->maxes.n) {
            if (k == CLI_MAX_DIM_MAXES) continue;
            snprintf(a->maxes.names[k], sizeof a->maxes.names[k], "%s", dim.name);
            a->maxes.v[k] = (infer_dim_max){ a->maxes.names[k], 0 };
            a->maxes.n++;
        }
        int64_t size = t->dims[d] < dim.min ? dim.min : t->dims[d]; /* a size below the range: the run refuses it */
        if (a->maxes.v[k].max < size) a->maxes.v[k].max = size;
    }
}

int cli_parse_run(int argc, char **argv, run_args *a) {
    memset(a, 0, sizeof *a);
    infer_engine_options_init(&a->opt);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int used = cli_engine_or_max_option("run", argc, argv, &i, &a->opt, &a->maxes);
        if (used < 0) return EXIT_USAGE;
        if (used > 0) continue;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            return CLI_HELP;
        } else if (!strcmp(s, "-o") || !strcmp(s, "--output")) {
            while (i + 1 < argc && argv[i + 1][0] != '-' && a->n_outputs < MAX_FILES) a->outputs[a->n_outputs++] = argv[++i];
            if (!a->n_outputs) return cli_usage_error("run", "%s needs at least one file", s);
        } else if (!strcmp(s, "--out-dir")) {
            if (!val) return cli_usage_error("run", "--out-dir needs a folder");
            a->out_dir = argv[++i];
        } else if (!strcmp(s, "--no-optimize")) {
            a->opt.optimize = 0;
        } else if (!strcmp(s, "--print")) {
            a->print = 1;
        } else if (s[0] == '-') {
            return cli_usage_error("run", "unknown option '%s'", s);
        } else if (!a->model) {
            a->model = s;
        } else if (a->n_inputs < MAX_FILES) {
            a->inputs[a->n_inputs++] = s;
        } else {
            return cli_usage_error("run", "too many input files (at most %d)", MAX_FILES);
        }
    }
    if (!a->model) return cli_usage_error("run", "no model file given");
    if (!a->n_outputs && !a->out_dir && !a->print)
        return cli_usage_error("run", "say where the outputs go: -o OUT.npy..., --out-dir DIR, or --print");
    if (a->n_outputs && a->out_dir) return cli_usage_error("run", "use either -o or --out-dir, not both");
    return EXIT_OK;
}

/* Class labels from the model's metadata (user.labels: comma or newline separated), if any. */
static const char *label_at(const char *labels, int64_t index, char *buf, size_t n) {
    if (!labels) return NULL;
    const char *p = labels;
    for (int64_t i = 0; i < index && p; i++) {
        p = strpbrk(p, ",\n");
        if (p) p++;
    }
    if (!p || !*p) return NULL;
    size_t len = strcspn(p, ",\n");
    if (len >= n) len = n - 1;
    memcpy(buf, p, len);
    buf[len] = 0;
    return buf;
}

static void print_top5(const float *row, int64_t classes, const char *labels) {
    int64_t best[5];
    int k = 0;
    for (; k < 5 && k < classes; k++) {
        int64_t pick = -1;
        for (int64_t c = 0; c < classes; c++) {
            int taken = 0;
            for (int j = 0; j < k; j++) taken |= best[j] == c;
            if (!taken && (pick < 0 || row[c] > row[pick])) pick = c;
        }
        best[k] = pick;
    }
    for (int j = 0; j < k; j++) {
        char buf[128];
        const char *name = label_at(labels, best[j], buf, sizeof buf);
        printf("    #%d  class %lld%s%s%s  %.6g\n", j + 1, (long long)best[j], name ? " (" : "", name ? name : "",
               name ? ")" : "", row[best[j]]);
    }
}

static void print_summary(const char *name, const infer_tensor *t, const char *labels) {
    int64_t n = infer_tensor_elements(t);
    printf("%s: %s ", name, infer_dtype_name(t->dtype));
    cli_print_shape(stdout, t->dims, t->ndim);
    if (t->dtype != INFER_F32 || n == 0) {
        printf("\n");
        return;
    }
    const float *x = t->data;
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        sum += x[i];
        lo = fmin(lo, x[i]);
        hi = fmax(hi, x[i]);
    }
    printf("  min %.6g  max %.6g  mean %.6g\n  first:", lo, hi, sum / (double)n);
    for (int64_t i = 0; i < n && i < 8; i++) printf(" %.6g", x[i]);
    printf("%s\n", n > 8 ? " ..." : "");
    if (t->ndim == 2 && t->dims[1] > 1) {
        for (int64_t r = 0; r < t->dims[0] && r < 8; r++) {
            printf("  row %lld top-5:\n", (long long)r);
            print_top5(x + r * t->dims[1], t->dims[1], labels);
        }
    }
}

/* An output name usable as a file name inside --out-dir: no separators, no "..", printable. */
static int safe_file_name(const char *name) {
    if (!name[0] || !strcmp(name, ".") || !strcmp(name, "..") || strlen(name) > 200) return 0;
    for (const char *c = name; *c; c++)
        if (*c == '/' || *c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f) return 0;
    return 1;
}

static int write_outputs(const run_args *a, const infer_model *model, const infer_tensor *out, int n) {
    if (a->out_dir) mkdir(a->out_dir, 0777);
    for (int i = 0; i < n; i++) {
        char path[4096];
        const char *dest = a->outputs[i];
        if (a->out_dir) {
            infer_tensor_info info;
            infer_model_output(model, i, &info);
            int unique = 1;
            for (int j = 0; j < i; j++) {
                infer_tensor_info other;
                infer_model_output(model, j, &other);
                unique &= strcmp(other.name, info.name) != 0;
            }
            /* Names come from the model file: anything that could leave the folder or collide is
             * replaced by the output's position. */
            if (safe_file_name(info.name) && unique) snprintf(path, sizeof path, "%s/%s.npy", a->out_dir, info.name);
            else snprintf(path, sizeof path, "%s/output%d.npy", a->out_dir, i);
            dest = path;
        }
        if (!dest) continue;
        infer_error err;
        if (npy_save(dest, &out[i], &err) != INFER_OK) return cli_report(&err);
    }
    return EXIT_OK;
}

int cmd_run(int argc, char **argv) {
    run_args a;
    int rc = cli_parse_run(argc, argv, &a);
    if (rc == CLI_HELP) help(stdout);
    if (rc != EXIT_OK) return rc == CLI_HELP ? EXIT_OK : rc;

    infer_error err;
    infer_model *model = NULL;
    if (infer_model_load(a.model, &model, &err) != INFER_OK) return cli_report(&err);
    int n_in = infer_model_input_count(model), n_out = infer_model_output_count(model);
    if (n_in > MAX_FILES || n_out > MAX_FILES) {
        infer_model_free(model);
        fprintf(stderr, "infer: the model has %d inputs and %d outputs; infer run handles at most %d of each\n", n_in,
                n_out, MAX_FILES);
        return EXIT_USAGE;
    }
    if (a.n_inputs != n_in) {
        infer_model_free(model);
        return cli_usage_error("run", "the model takes %d input(s), %d file(s) given", n_in, a.n_inputs);
    }
    if (a.n_outputs && a.n_outputs != n_out) {
        infer_model_free(model);
        return cli_usage_error("run", "the model has %d output(s), %d file(s) given with -o", n_out, a.n_outputs);
    }
    infer_tensor inputs[MAX_FILES];
    memset(inputs, 0, sizeof inputs);
    int n_loaded = 0;
    rc = EXIT_OK;
    for (; n_loaded < n_in; n_loaded++) {
        if (npy_load(a.inputs[n_loaded], &inputs[n_loaded], &err) != INFER_OK) {
            rc = cli_report(&err);
            break;
        }
        size_maxima(model, n_loaded, &inputs[n_loaded], &a);
    }
    a.opt.dim_max = a.maxes.v;
    a.opt.n_dim_max = a.maxes.n;
    infer_engine *engine = NULL;
    infer_tensor outputs[MAX_FILES];
    if (rc == EXIT_OK && infer_engine_create(model, &a.opt, &engine, &err) != INFER_OK) rc = cli_report(&err);
    if (rc == EXIT_OK && infer_engine_run(engine, inputs, n_in, outputs, n_out, &err) != INFER_OK) rc = cli_report(&err);
    if (engine && infer_engine_warnings(engine)[0]) fprintf(stderr, "infer: warning: %s\n", infer_engine_warnings(engine));
    if (rc == EXIT_OK) rc = write_outputs(&a, model, outputs, n_out);
    if (rc == EXIT_OK && a.print) {
        const char *labels = infer_model_meta_get(model, "user.labels");
        for (int i = 0; i < n_out; i++) {
            infer_tensor_info info;
            infer_model_output(model, i, &info);
            print_summary(info.name, &outputs[i], labels);
        }
    }
    infer_engine_destroy(engine);
    for (int i = 0; i < n_loaded; i++) npy_free(&inputs[i]);
    infer_model_free(model);
    return rc;
}
