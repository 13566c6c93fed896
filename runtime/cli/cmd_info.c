/* cmd_info.c — `infer info`: a model's inputs, outputs, ops, parameters, metadata and memory plan. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "cli_args.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: infer info MODEL.ifg [--device auto|cpu|cuda] [--batch N] [--max NAME=N]... [--layers]\n"
            "                  [--threads N] [--sparse auto|sparse|dense] [--int8-chain full|exact|off]\n"
            "                  [--winograd auto|off|on] [--fuse-dw on|off] [--precision fp32|bf16] [--bf16-chain on|off]\n\n"
            "Describes MODEL: inputs and outputs with shapes and dtypes, op histogram, parameter count,\n"
            "bytes per dtype, metadata, and the engine built for DEVICE (default cpu) at batch N (default 1):\n"
            "nodes after optimization, planned activation memory against the naive sum, and on CUDA the\n"
            "layers that fall back to the CPU.\n\n"
            "  --max NAME=N  build the engine for named dim NAME up to N (default: its size at conversion)\n"
            "  --layers   list every layer of the optimized graph\n"
            "  --threads N, --sparse auto|sparse|dense  as for run: sparse layers show the choice made for them\n"
            "  --int8-chain full|exact|off            as for run: INT8 layers show their u8 NHWC chains\n"
            "  --winograd auto|off|on                 as for run: layers that run Winograd say so\n"
            "  --fuse-dw on|off                       as for run: 1x1 + depthwise pairs run in strips say so\n"
            "  --precision fp32|bf16, --bf16-chain on|off  as for run: BF16 layers show their BF16 NHWC chains\n");
}

static void print_io(const char *title, const infer_model *m, int n,
                     infer_status (*get)(const infer_model *, int, infer_tensor_info *)) {
    printf("%s:\n", title);
    for (int i = 0; i < n; i++) {
        infer_tensor_info t;
        get(m, i, &t);
        printf("  %-24s %-5s ", t.name, infer_dtype_name(t.dtype));
        cli_print_model_shape(stdout, m, &t);
        printf("\n");
    }
}

static void print_dims(const infer_model *m, const infer_engine *e) {
    int n = infer_model_dim_count(m);
    if (!n) return;
    printf("dynamic dims:\n");
    for (int i = 0; i < n; i++) {
        infer_dim_info d;
        infer_model_dim(m, i, &d);
        printf("  %-16s %lld..%lld (converted at %lld)", d.name, (long long)d.min, (long long)d.max, (long long)d.example);
        if (e) printf(", engine up to %lld", (long long)infer_engine_dim_max(e, i));
        printf("\n");
    }
}

static void print_histogram(const infer_model *m) {
    int n = infer_model_node_count(m);
    const char *ops[64];
    int counts[64], kinds = 0;
    for (int i = 0; i < n; i++) {
        const char *op;
        infer_model_node(m, i, &op, NULL);
        int k = 0;
        while (k < kinds && strcmp(ops[k], op)) k++;
        if (k == kinds && kinds < 64) {
            ops[kinds] = op;
            counts[kinds++] = 0;
        }
        if (k < kinds) counts[k]++;
    }
    printf("ops (%d nodes):\n", n);
    for (int k = 0; k < kinds; k++) printf("  %-20s %d\n", ops[k], counts[k]);
}

static void print_engine(const infer_engine *e, int list_layers) {
    infer_engine_stats st;
    char b1[32], b2[32], b3[32];
    infer_engine_stats_get(e, &st);
    printf("engine (%s, %s, batch %d, %d threads):\n", infer_device_name(st.device), infer_precision_name(st.precision),
           st.max_batch, st.threads);
    printf("  nodes after optimization  %d\n", st.nodes);
    printf("  weights                   %s\n", cli_human_bytes(st.weight_bytes, b1, sizeof b1));
    printf("  activation memory         %s planned, %s naive (%.1f%%)\n", cli_human_bytes(st.arena_bytes, b2, sizeof b2),
           cli_human_bytes(st.naive_bytes, b3, sizeof b3),
           st.naive_bytes ? 100.0 * (double)st.arena_bytes / (double)st.naive_bytes : 0.0);
    printf("  workspace                 %s\n", cli_human_bytes(st.workspace_bytes, b1, sizeof b1));
    if (st.device == INFER_DEVICE_CUDA) printf("  CPU fallback nodes        %d\n", st.fallback_nodes);
    int n = infer_engine_layer_count(e), int8 = 0, weighted = 0;
    for (int i = 0; i < n; i++) {
        infer_layer_info l;
        if (infer_engine_layer(e, i, &l) != INFER_OK) continue;
        weighted += !strcmp(l.op, "linear") || !strcmp(l.op, "conv2d") || !strcmp(l.op, "lstm") || !strcmp(l.op, "gru") ||
                    !strcmp(l.op, "embedding");
        int8 += l.weights && !strncmp(l.weights, "int8", 4);
    }
    if (int8) printf("  INT8 layers               %d of %d linear/conv2d/lstm/gru/embedding\n", int8, weighted);
    for (int i = 0; i < n; i++) {
        infer_layer_info l;
        infer_engine_layer(e, i, &l);
        int fallback = st.device == INFER_DEVICE_CUDA && strcmp(l.device, "cuda") != 0;
        if (!list_layers && !fallback && !l.weights) continue;
        printf("  %4d %-18s %-32s %-4s ", i, l.op, l.name, l.device);
        cli_print_shape(stdout, l.dims, l.ndim);
        printf("%s%s%s%s\n", fallback ? "  (CPU fallback)" : "", l.weights ? "  (" : "", l.weights ? l.weights : "",
               l.weights ? ")" : "");
    }
}

int cli_parse_info(int argc, char **argv, info_args *a) {
    memset(a, 0, sizeof *a);
    a->batch = 1;
    infer_engine_options_init(&a->opt);
    a->opt.device = INFER_DEVICE_CPU;
    for (int i = 1, used; i < argc; i++) {
        const char *s = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            return CLI_HELP;
        } else if (!strcmp(s, "--device")) {
            if (cli_parse_device(val, &a->opt.device)) return cli_usage_error("info", "--device takes auto, cpu or cuda");
            i++;
        } else if (!strcmp(s, "--batch")) {
            if (cli_parse_int(val, 1, 1 << 20, &a->batch)) return cli_usage_error("info", "--batch takes a positive number");
            i++;
        } else if ((used = cli_dim_max_option("info", s, val, &a->maxes)) != 0) {
            if (used < 0) return EXIT_USAGE;
            i++;
        } else if (!strcmp(s, "--sparse") || !strcmp(s, "--threads") || !strcmp(s, "--int8-chain") ||
                   !strcmp(s, "--winograd") || !strcmp(s, "--fuse-dw") || !strcmp(s, "--bf16-chain") || !strcmp(s, "--precision")) {
            if (cli_engine_option("info", argc, argv, &i, &a->opt) < 0) return EXIT_USAGE;
        } else if (!strcmp(s, "--layers")) {
            a->list_layers = 1;
        } else if (s[0] == '-') {
            return cli_usage_error("info", "unknown option '%s'", s);
        } else if (!a->model) {
            a->model = s;
        } else {
            return cli_usage_error("info", "one model at a time");
        }
    }
    if (!a->model) return cli_usage_error("info", "no model file given");
    return EXIT_OK;
}

int cmd_info(int argc, char **argv) {
    info_args a;
    int parsed = cli_parse_info(argc, argv, &a);
    if (parsed == CLI_HELP) help(stdout);
    if (parsed != EXIT_OK) return parsed == CLI_HELP ? EXIT_OK : parsed;
    const char *path = a.model;
    int batch = a.batch, list_layers = a.list_layers;
    infer_engine_options opt = a.opt;

    infer_error err;
    infer_model *m = NULL;
    if (infer_model_load(path, &m, &err) != INFER_OK) return cli_report(&err);
    infer_model_stats ms;
    infer_model_stats_get(m, &ms);
    char b[32];
    printf("model: %s (%s)\n", path, cli_human_bytes(ms.file_bytes, b, sizeof b));
    print_io("inputs", m, infer_model_input_count(m), infer_model_input);
    print_io("outputs", m, infer_model_output_count(m), infer_model_output);
    print_histogram(m);
    printf("parameters: %lld\n", (long long)ms.parameters);
    for (int d = 1; d < INFER_DTYPE_COUNT; d++)
        if (ms.bytes_per_dtype[d])
            printf("  %-5s %s\n", infer_dtype_name((infer_dtype)d), cli_human_bytes(ms.bytes_per_dtype[d], b, sizeof b));
    printf("storage (constants):\n");
    for (int k = 0; k < INFER_STORAGE_COUNT; k++)
        if (ms.tensors_per_storage[k])
            printf("  %-18s %4d tensors  %s\n", infer_storage_name(k), ms.tensors_per_storage[k],
                   cli_human_bytes(ms.bytes_per_storage[k], b, sizeof b));
    printf("metadata:\n");
    for (int i = 0; i < infer_model_meta_count(m); i++) {
        const char *k, *v;
        infer_model_meta(m, i, &k, &v);
        printf("  %-20s %.200s%s\n", k, v, strlen(v) > 200 ? "..." : "");
    }
    infer_tensor_info first;
    int dynamic = infer_model_input_count(m) > 0 && infer_model_input(m, 0, &first) == INFER_OK && first.ndim > 0 &&
                  first.dims[0] == -1;
    opt.max_batch = dynamic ? batch : 0;
    opt.dim_max = a.maxes.v;
    opt.n_dim_max = a.maxes.n;
    infer_engine *e = NULL;
    int rc = EXIT_OK;
    if (infer_engine_create(m, &opt, &e, &err) != INFER_OK) rc = cli_report(&err);
    print_dims(m, e);
    if (e) print_engine(e, list_layers);
    infer_engine_destroy(e);
    infer_model_free(m);
    return rc;
}
