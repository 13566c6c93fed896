/* cmd_quantize.h — the parsed command line of `infer quantize` (parsing opens no file: testable, fuzzable). */
#ifndef INFER_CMD_QUANTIZE_H
#define INFER_CMD_QUANTIZE_H

#include "cli_args.h"

#define QCLI_MAX_CALIB 256 /* calibration files in all */
#define QCLI_MAX_KEEP 256

typedef struct {
    const char *model, *out;
    const char *calib[QCLI_MAX_CALIB]; /* FILE.npy or NAME=FILE.npy */
    int calib_batch[QCLI_MAX_CALIB];   /* which --calib (batch) each file belongs to */
    int n_calib, n_batches;
    int mode;                          /* quant_mode */
    int method;                        /* calib_method or QUANT_METHOD_AUTO */
    double max_error;
    const char *keep[QCLI_MAX_KEEP];
    int n_keep;
    int bias_correction, threads;
} quantize_args;

int cli_parse_quantize(int argc, char **argv, quantize_args *a);
int cmd_quantize(int argc, char **argv);

#endif
