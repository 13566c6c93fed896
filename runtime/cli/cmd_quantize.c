/* cmd_quantize.c — `infer quantize`: INT8 weights for linear and conv2d, calibrated from .npy data, with a
 * per-layer report (quant/quant_model.h does the work; this reads the files and prints). */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "cmd_quantize.h"
#include "../../loaders/npy.h"
#include "../../quant/quant_model.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: infer quantize MODEL.ifg -o OUT.ifg [--calib (IN.npy... | NAME=IN.npy...)] [options]\n\n"
            "Stores the weights of linear, conv2d, lstm and gru layers as int8 per output channel (gate row) and\n"
            "embedding tables as int8 per row. Static mode also fixes each linear and conv2d\n"
            "layer's input quantization from the calibration data; dynamic mode quantizes inputs at run time.\n\n"
            "  -o, --output OUT.ifg       the quantized model (written atomically; nothing on failure)\n"
            "  --calib FILE.npy...        one calibration batch: a file per model input, in order, or NAME=FILE;\n"
            "                             repeat --calib for more batches (the leading dimension is the batch)\n"
            "  --mode static|dynamic      default static with --calib, dynamic without (lstm/gru: dynamic\n"
            "                             in both; embedding tables int8 per row in both)\n"
            "  --method minmax|percentile|entropy|mse|auto   static input ranges (default auto: per layer,\n"
            "                             the method with the smallest model error)\n"
            "  --max-error X              keep the most sensitive layers float until the relative L2 error of\n"
            "                             the outputs on the calibration data is at most X\n"
            "  --keep LAYER               keep a layer float (node or weight name; repeatable)\n"
            "  --no-bias-correction       do not correct biases for the weights' rounding\n"
            "  --threads N                CPU threads for calibration (default: all cores)\n"
            "  -h, --help                 this help\n\n"
            "Progress goes to stderr; the report (per layer: int8 or why float, method, input scale and zero\n"
            "point, model error with that layer alone quantized; the model's error; file sizes) to stdout.\n");
}

static void progress(void *ctx, const char *line) {
    (void)ctx;
    fprintf(stderr, "quantize: %s\n", line);
}

/* Model input index of calibration file spec (FILE or NAME=FILE, k-th file of its batch); -1 when unknown. */
static int input_of(const infer_model *m, const char *spec, int k, const char **path) {
    const char *eq = strchr(spec, '=');
    *path = spec;
    if (!eq) return k < infer_model_input_count(m) ? k : -1;
    *path = eq + 1;
    for (int i = 0; i < infer_model_input_count(m); i++) {
        infer_tensor_info info;
        if (infer_model_input(m, i, &info) == INFER_OK && strlen(info.name) == (size_t)(eq - spec) &&
            !strncmp(info.name, spec, (size_t)(eq - spec)))
            return i;
    }
    return -1;
}

static void print_report(const quant_report *r, int mode) {
    printf("%-32s %-9s %-5s %-11s %10s %7s %12s\n", "layer", "op", "int8", "method", "in_scale", "in_zero",
           "error alone");
    for (int i = 0; i < r->n_layers; i++) {
        const quant_layer_report *l = &r->layers[i];
        if (!l->quantized) {
            printf("%-32.32s %-9s no    (%s)\n", l->name, l->op, l->why_float);
            continue;
        }
        const char *how = l->weight_only ? (strcmp(l->op, "embedding") ? "dynamic" : "rows")
                          : mode == QUANT_STATIC ? calib_method_name(l->method) : "dynamic";
        printf("%-32.32s %-9s yes   %-11s", l->name, l->op, how);
        if (mode == QUANT_STATIC && !l->weight_only) printf(" %10.4g %7d", l->in_scale, l->in_zero);
        else printf(" %10s %7s", "-", "-");
        if (l->alone_error >= 0) printf(" %12.4g\n", l->alone_error);
        else printf(" %12s\n", "-");
    }
    printf("layers int8: %d of %d\n", r->n_quantized, r->n_layers);
    if (r->model_error >= 0) printf("model error (relative L2 of the outputs on the calibration data): %.4g\n", r->model_error);
    char a[32], b[32];
    printf("size: %s -> %s (%.1f%%)\n", cli_human_bytes(r->bytes_in, a, sizeof a), cli_human_bytes(r->bytes_out, b, sizeof b),
           r->bytes_in ? 100.0 * (double)r->bytes_out / (double)r->bytes_in : 0.0);
}

int cmd_quantize(int argc, char **argv) {
    quantize_args a;
    int rc = cli_parse_quantize(argc, argv, &a);
    if (rc == CLI_HELP) {
        help(stdout);
        return EXIT_OK;
    }
    if (rc != EXIT_OK) return rc;
    infer_error err;
    infer_model *m = NULL;
    if (infer_model_load(a.model, &m, &err) != INFER_OK) return cli_report(&err);
    int n_in = infer_model_input_count(m);
    infer_tensor *data = calloc((size_t)(a.n_batches * n_in) + 1, sizeof *data);
    const infer_tensor **batches = calloc((size_t)a.n_batches + 1, sizeof *batches);
    rc = EXIT_OK;
    if (!data || !batches) {
        fprintf(stderr, "infer: out of memory\n");
        rc = EXIT_RUNTIME;
    }
    for (int f = 0, k = 0; rc == EXIT_OK && f < a.n_calib; f++) {
        k = f > 0 && a.calib_batch[f] == a.calib_batch[f - 1] ? k + 1 : 0;
        const char *path;
        int i = input_of(m, a.calib[f], k, &path);
        infer_tensor *slot = i >= 0 ? &data[a.calib_batch[f] * n_in + i] : NULL;
        if (!slot || slot->data) {
            rc = cli_usage_error("quantize", "--calib %s: %s", a.calib[f],
                                 slot ? "that input is given twice" : "no such model input");
            break;
        }
        if (npy_load(path, slot, &err) != INFER_OK) rc = cli_report(&err);
    }
    for (int b = 0; rc == EXIT_OK && b < a.n_batches; b++) {
        batches[b] = &data[b * n_in];
        for (int i = 0; i < n_in; i++)
            if (!data[b * n_in + i].data) {
                rc = cli_usage_error("quantize", "calibration batch %d has no file for model input %d", b + 1, i);
                break;
            }
    }
    infer_model_free(m);
    if (rc == EXIT_OK) {
        quant_options o;
        quant_options_init(&o);
        o.mode = (quant_mode)a.mode;
        o.method = a.method;
        o.max_error = a.max_error;
        o.keep = a.keep;
        o.n_keep = a.n_keep;
        o.bias_correction = a.bias_correction;
        o.threads = a.threads;
        o.progress = progress;
        quant_report r;
        if (quant_model(a.model, a.out, batches, a.n_batches, &o, &r, &err) != INFER_OK) {
            rc = cli_report(&err);
        } else {
            print_report(&r, a.mode);
            quant_report_free(&r);
        }
    }
    for (int i = 0; data && i < a.n_batches * n_in; i++)
        if (data[i].data) npy_free(&data[i]);
    free(data);
    free(batches);
    return rc;
}
