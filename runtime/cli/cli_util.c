/* cli_util.c — helpers the ./infer commands share: exit codes, usage errors, option values, printing. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

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
