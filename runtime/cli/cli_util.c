/* cli_util.c — helpers the ./infer commands share: exit codes, usage errors, option values, printing. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "cli_args.h"

int cli_exit_code(infer_status s) {
    switch (s) {
    case INFER_OK: return EXIT_OK;
    case INFER_ERR_ARGUMENT: case INFER_ERR_IO: case INFER_ERR_FORMAT: case INFER_ERR_VERSION:
    case INFER_ERR_UNSUPPORTED: case INFER_ERR_SHAPE: case INFER_ERR_DTYPE:
        return EXIT_USAGE;
    default: return EXIT_RUNTIME;
    }
}

int cli_report(const infer_error *err) {
    fprintf(stderr, "infer: %s\n", err->message[0] ? err->message : infer_status_name(err->status));
    return cli_exit_code(err->status);
}

int cli_usage_error(const char *command, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "infer %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see 'infer %s --help')\n", command);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_parse_device(const char *s, infer_device *device) {
    if (!s) return -1;
    if (!strcmp(s, "auto")) *device = INFER_DEVICE_AUTO;
    else if (!strcmp(s, "cpu")) *device = INFER_DEVICE_CPU;
    else if (!strcmp(s, "cuda")) *device = INFER_DEVICE_CUDA;
    else return -1;
    return 0;
}

int cli_parse_precision(const char *s, infer_precision *precision) {
    if (!s) return -1;
    if (!strcmp(s, "fp32")) *precision = INFER_PRECISION_FP32;
    else if (!strcmp(s, "tf32")) *precision = INFER_PRECISION_TF32;
    else if (!strcmp(s, "fp16")) *precision = INFER_PRECISION_FP16;
    else if (!strcmp(s, "bf16")) *precision = INFER_PRECISION_BF16;
    else return -1;
    return 0;
}

int cli_parse_int(const char *s, int min, int max, int *out) {
    if (!s || !*s) return -1;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

int cli_engine_option(const char *command, int argc, char **argv, int *i, infer_engine_options *opt) {
    const char *s = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(s, "--device")) {
        if (cli_parse_device(val, &opt->device)) return cli_usage_error(command, "--device takes auto, cpu or cuda"), -1;
    } else if (!strcmp(s, "--precision")) {
        if (cli_parse_precision(val, &opt->precision))
            return cli_usage_error(command, "--precision takes fp32, tf32, fp16 or bf16"), -1;
    } else if (!strcmp(s, "--bf16-kernel")) {
        if (!val || (strcmp(val, "auto") && strcmp(val, "avx512") && strcmp(val, "amx")))
            return cli_usage_error(command, "--bf16-kernel takes auto, avx512 or amx"), -1;
        opt->cpu_bf16 = !strcmp(val, "avx512") ? INFER_CPU_BF16_AVX512 : !strcmp(val, "amx") ? INFER_CPU_BF16_AMX
                                                                                           : INFER_CPU_BF16_AUTO;
    } else if (!strcmp(s, "--sparse")) {
        if (!val || (strcmp(val, "auto") && strcmp(val, "sparse") && strcmp(val, "dense")))
            return cli_usage_error(command, "--sparse takes auto, sparse or dense"), -1;
        opt->sparse = !strcmp(val, "sparse") ? INFER_SPARSE_SPARSE : !strcmp(val, "dense") ? INFER_SPARSE_DENSE
                                                                                       : INFER_SPARSE_AUTO;
    } else if (!strcmp(s, "--winograd")) {
        if (!val || (strcmp(val, "auto") && strcmp(val, "off") && strcmp(val, "on")))
            return cli_usage_error(command, "--winograd takes auto, off or on"), -1;
        opt->winograd = !strcmp(val, "off") ? INFER_WINOGRAD_OFF : !strcmp(val, "on") ? INFER_WINOGRAD_ON
                                                                                     : INFER_WINOGRAD_AUTO;
    } else if (!strcmp(s, "--int8-chain")) {
        if (!val || (strcmp(val, "full") && strcmp(val, "exact") && strcmp(val, "off")))
            return cli_usage_error(command, "--int8-chain takes full, exact or off"), -1;
        opt->int8_chain = !strcmp(val, "full") ? INFER_INT8_CHAIN_FULL : !strcmp(val, "exact") ? INFER_INT8_CHAIN_EXACT
                                                                                             : INFER_INT8_CHAIN_OFF;
    } else if (!strcmp(s, "--fuse-dw")) {
        if (!val || (strcmp(val, "on") && strcmp(val, "off")))
            return cli_usage_error(command, "--fuse-dw takes on or off"), -1;
        opt->fuse_dw = !strcmp(val, "on");
    } else if (!strcmp(s, "--bf16-chain")) {
        if (!val || (strcmp(val, "on") && strcmp(val, "off")))
            return cli_usage_error(command, "--bf16-chain takes on or off"), -1;
        opt->bf16_chain = !strcmp(val, "on");
    } else if (!strcmp(s, "--threads")) {
        if (cli_parse_int(val, 1, 1024, &opt->threads))
            return cli_usage_error(command, "--threads takes a number from 1 to 1024"), -1;
    } else if (!strcmp(s, "--gpu")) {
        if (cli_parse_int(val, 0, 1023, &opt->device_id))
            return cli_usage_error(command, "--gpu takes a CUDA device index (0 = the first)"), -1;
    } else if (!strcmp(s, "--no-graph")) {
        opt->cuda_graphs = 0;
        return 1;
    } else if (!strcmp(s, "--debug-sync")) {
        opt->debug_sync = 1;
        return 1;
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

int cli_dim_max_option(const char *command, const char *s, const char *val, cli_dim_maxes *m) {
    if (strcmp(s, "--max")) return 0;
    const char *eq = val ? strchr(val, '=') : NULL;
    int n = 0;
    if (!eq || eq == val || eq - val >= 64 || cli_parse_int(eq + 1, 1, 1 << 30, &n))
        return cli_usage_error(command, "--max takes NAME=N (a named dim and its largest size), e.g. seq=256"), -1;
    for (int k = 0; k < m->n; k++)
        if ((size_t)(eq - val) == strlen(m->v[k].name) && !strncmp(m->v[k].name, val, (size_t)(eq - val)))
            return cli_usage_error(command, "--max %.*s is given twice", (int)(eq - val), val), -1;
    if (m->n == CLI_MAX_DIM_MAXES) return cli_usage_error(command, "at most %d --max", CLI_MAX_DIM_MAXES), -1;
    memcpy(m->names[m->n], val, (size_t)(eq - val));
    m->names[m->n][eq - val] = 0;
    m->v[m->n].name = m->names[m->n];
    m->v[m->n++].max = n;
    m->given = m->n;
    return 1;
}

int cli_engine_or_max_option(const char *command, int argc, char **argv, int *i, infer_engine_options *opt,
                             cli_dim_maxes *m) {
    int used = cli_engine_option(command, argc, argv, i, opt);
    if (used) return used;
    used = cli_dim_max_option(command, argv[*i], *i + 1 < argc ? argv[*i + 1] : NULL, m);
    if (used > 0) (*i)++;
    return used;
}

void cli_print_model_shape(FILE *f, const infer_model *m, const infer_tensor_info *t) {
    fputc('[', f);
    for (int i = 0; i < t->ndim; i++) {
        infer_dim_info d;
        if (t->dims[i] >= 0) fprintf(f, "%s%lld", i ? "," : "", (long long)t->dims[i]);
        else if (t->dim_index[i] >= 0 && infer_model_dim(m, t->dim_index[i], &d) == INFER_OK)
            fprintf(f, "%s%s", i ? "," : "", d.name);
        else fprintf(f, "%s?", i ? "," : "");
    }
    fputc(']', f);
}

void cli_print_shape(FILE *f, const int64_t *dims, int ndim) {
    fputc('[', f);
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) fprintf(f, "%sbatch", i ? "," : "");
        else fprintf(f, "%s%lld", i ? "," : "", (long long)dims[i]);
    }
    fputc(']', f);
}

const char *cli_human_bytes(uint64_t b, char *buf, size_t n) {
    if (b >= (1ull << 30)) snprintf(buf, n, "%.2f GiB", (double)b / (1ull << 30));
    else if (b >= (1ull << 20)) snprintf(buf, n, "%.2f MiB", (double)b / (1ull << 20));
    else if (b >= (1ull << 10)) snprintf(buf, n, "%.1f KiB", (double)b / (1ull << 10));
    else snprintf(buf, n, "%llu B", (unsigned long long)b);
    return buf;
}
