/* cmd_quantize_args.c — parsing `infer quantize`'s command line. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "cmd_quantize.h"
#include "../../quant/quant_model.h"

int cli_parse_quantize(int argc, char **argv, quantize_args *a) {
    memset(a, 0, sizeof *a);
    a->mode = -1; /* not given: static with --calib, else dynamic */
    a->method = QUANT_METHOD_AUTO;
    a->bias_correction = 1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            return CLI_HELP;
        } else if (!strcmp(s, "-o") || !strcmp(s, "--output")) {
            if (!val) return cli_usage_error("quantize", "%s needs a file", s);
            a->out = argv[++i];
        } else if (!strcmp(s, "--calib")) {
            int before = a->n_calib;
            while (i + 1 < argc && argv[i + 1][0] != '-') {
                if (a->n_calib >= QCLI_MAX_CALIB)
                    return cli_usage_error("quantize", "too many calibration files (at most %d)", QCLI_MAX_CALIB);
                a->calib_batch[a->n_calib] = a->n_batches;
                a->calib[a->n_calib++] = argv[++i];
            }
            if (a->n_calib == before) return cli_usage_error("quantize", "--calib needs at least one .npy file");
            a->n_batches++;
        } else if (!strcmp(s, "--mode")) {
            if (!val || (strcmp(val, "static") && strcmp(val, "dynamic")))
                return cli_usage_error("quantize", "--mode takes static or dynamic");
            a->mode = !strcmp(argv[++i], "static") ? QUANT_STATIC : QUANT_DYNAMIC;
        } else if (!strcmp(s, "--method")) {
            int m = val && !strcmp(val, "auto") ? QUANT_METHOD_AUTO : val ? calib_method_parse(val) : -2;
            if (m < QUANT_METHOD_AUTO)
                return cli_usage_error("quantize", "--method takes minmax, percentile, entropy, mse or auto");
            a->method = m;
            i++;
        } else if (!strcmp(s, "--max-error")) {
            char *end = NULL;
            double v = val ? strtod(val, &end) : -1;
            if (!val || !end || *end || !(v >= 0) || v > 1e6)
                return cli_usage_error("quantize", "--max-error takes a relative error >= 0 (e.g. 0.01)");
            a->max_error = v;
            i++;
        } else if (!strcmp(s, "--keep")) {
            if (!val) return cli_usage_error("quantize", "--keep needs a layer (node or weight name)");
            if (a->n_keep >= QCLI_MAX_KEEP) return cli_usage_error("quantize", "too many --keep (at most %d)", QCLI_MAX_KEEP);
            a->keep[a->n_keep++] = argv[++i];
        } else if (!strcmp(s, "--no-bias-correction")) {
            a->bias_correction = 0;
        } else if (!strcmp(s, "--threads")) {
            if (!val || cli_parse_int(val, 1, 4096, &a->threads))
                return cli_usage_error("quantize", "--threads takes a count from 1 to 4096");
            i++;
        } else if (s[0] == '-') {
            return cli_usage_error("quantize", "unknown option '%s'", s);
        } else if (!a->model) {
            a->model = s;
        } else {
            return cli_usage_error("quantize", "unexpected argument '%s' (calibration files follow --calib)", s);
        }
    }
    if (!a->model) return cli_usage_error("quantize", "no model file given");
    if (!a->out) return cli_usage_error("quantize", "no output file given (-o OUT.ifg)");
    if (a->mode < 0) a->mode = a->n_batches ? QUANT_STATIC : QUANT_DYNAMIC;
    if (a->mode == QUANT_STATIC && !a->n_batches)
        return cli_usage_error("quantize", "static quantization needs calibration data: --calib FILE.npy... "
                               "(or --mode dynamic)");
    return EXIT_OK;
}
