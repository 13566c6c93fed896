/* quant_layers.h — what quant_model.c shares with quant_write.c: the quantizable layers of a file and their
 * choices, and writing a file with those choices. */
#ifndef INFER_QUANT_LAYERS_H
#define INFER_QUANT_LAYERS_H

#include "histogram.h"
#include "quant_model.h"
#include "../loaders/ifg.h"

typedef struct {
    uint32_t node;               /* file node index */
    int w_input;                 /* the weight's input index in the node (1; lstm/gru: each w_ih and w_hh) */
    int weight_only;             /* lstm/gru and embedding weights: no activation parameters, bias or observation
                                    (recurrent layers run dynamic INT8 in either mode; a table is lookup-only) */
    uint32_t x, w, b;            /* tensor ids: input, weight, bias (IFG_NONE: none) */
    int64_t channels, per_channel; /* the weight as [channels, per_channel] */
    int64_t in_channels;         /* of x: linear its last dim; conv2d its dim 1 */
    int64_t taps;                /* conv2d: kh * kw; linear: 1 */
    int64_t groups;
    quant_hist hist;             /* x over the calibration data */
    double *sum_x;               /* in_channels sums of x over the calibration data, count of them */
    double count_x;
    int candidate;               /* 0: why_float says why it cannot be quantized */
    /* the choice being written */
    int quantize, method;
    float in_scale;
    int in_zero;
    const char *why_float;
    double alone_error;
} quant_layer;

/* Writes file f with layers[i].quantize applied (mode: static adds in_scale / in_zero; bias_correction uses
 * sum_x), with the tensors extra[0..n_extra) as further graph outputs, into a new writer. */
infer_status quant_write(const ifg_file *f, const quant_layer *layers, int n_layers, quant_mode mode,
                         int bias_correction, const uint32_t *extra, int n_extra, ifg_writer **out, infer_error *err);

#endif
