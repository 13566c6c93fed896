/* quant_model.h — quantizing a model file to INT8 (infer quantize): int8 per-channel weights for linear and
 * conv2d, their inputs' u8 parameters from calibration (static) or at run time (dynamic), methods chosen per
 * layer, layers kept float by sensitivity and an error bound, bias correction (docs/INT8.md). */
#ifndef INFER_QUANT_MODEL_H
#define INFER_QUANT_MODEL_H

#include <stdint.h>
#include "infer.h"
#include "calibrate.h"

typedef enum { QUANT_STATIC = 0, QUANT_DYNAMIC } quant_mode;
#define QUANT_METHOD_AUTO (-1) /* per layer, the calib_method giving the smallest model error */

typedef struct {
    quant_mode mode;
    int method;                  /* calib_method or QUANT_METHOD_AUTO */
    double max_error;            /* > 0: layers are kept float, most sensitive first, until the model's relative
                                    L2 error on the calibration data is at most this */
    const char *const *keep;     /* node or weight names kept float */
    int n_keep;
    int bias_correction;         /* 1: each quantized layer's bias corrected for its weights' rounding */
    int threads;                 /* engine threads; 0: all cores */
    /* Progress lines (library code does not print); NULL: none. */
    void (*progress)(void *ctx, const char *line);
    void *progress_ctx;
} quant_options;

void quant_options_init(quant_options *o); /* static, auto, no bound, bias correction on, all cores */

/* What became of one linear / conv2d layer. */
typedef struct {
    char name[96];               /* the node's (lstm, gru, embedding: the weight's) */
    const char *op;              /* "linear", "conv2d", "lstm", "gru", "embedding" */
    int weight_only;             /* lstm/gru weight (dynamic INT8 in either mode) or embedding table (int8 rows) */
    int quantized;
    const char *why_float;       /* quantized 0: why ("--keep", "sensitivity", "weight not dense f32", ...) */
    int method;                  /* static: the calib_method used */
    float in_scale;              /* static: the input's u8 parameters */
    int in_zero;
    double alone_error;          /* relative L2 of the model's outputs with only this layer quantized; -1: not
                                    measured */
} quant_layer_report;

typedef struct {
    int n_layers;                /* linear and conv2d nodes, lstm/gru weights and embedding tables of the model */
    quant_layer_report *layers;  /* n_layers, in node order; quant_report_free */
    int n_quantized;
    double model_error;          /* relative L2 of all float outputs over the calibration data, as written */
    double float_error;          /* the same for the FP32 model against itself (0; a sanity check) */
    uint64_t bytes_in, bytes_out;/* file sizes */
} quant_report;

void quant_report_free(quant_report *r);

/* Quantizes the model at in_path into out_path (written atomically; nothing is written on failure). calib:
 * n_batches batches, each one tensor per model input in input order (the leading dimension is the batch; a
 * model with a static batch takes chunks of it). Static mode needs calibration data; dynamic mode uses it, when
 * given, for the error report, sensitivity and bias correction. Fails (INFER_ERR_ARGUMENT) on bad options or
 * data, naming the problem. */
infer_status quant_model(const char *in_path, const char *out_path, const infer_tensor *const *calib, int n_batches,
                         const quant_options *o, quant_report *report, infer_error *err);

#endif
