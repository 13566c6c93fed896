/* quant_run.h — running a model file, as rewritten by quant_write, over the calibration data: the FP32 outputs
 * and the quantizable layers' inputs observed once, then the error of each candidate quantization. */
#ifndef INFER_QUANT_RUN_H
#define INFER_QUANT_RUN_H

#include "quant_layers.h"
#include "../base/error.h"

typedef struct {
    const ifg_file *f;
    const quant_options *o;
    int n_chunks, n_in, n_out, max_batch;
    infer_dim_max dim_max[IFG_MAX_DYN_DIMS]; /* named dims other than the leading one: the largest size given */
    int n_dim_max;
    infer_tensor *chunks;   /* n_chunks x n_in views of the calibration data, each one engine run */
    float **ref;            /* n_chunks x n_out: the FP32 model's f32 outputs (NULL for other dtypes) */
    int64_t *ref_count;
} quant_run;

/* Checks the calibration batches against the model's inputs (dtype, shape; a static batch divides them; a dim that
 * is a named dim takes any size in its range, the engines are planned for the largest given). */
infer_status quant_run_open(quant_run *r, const ifg_file *f, const infer_tensor *const *calib, int n_batches,
                            const quant_options *o, infer_error *err);
/* Runs the FP32 model with every candidate layer's input as an extra output: keeps the outputs, fills each
 * candidate's histogram and per-channel sums. */
infer_status quant_run_observe(quant_run *r, quant_layer *l, int n, infer_error *err);
/* Relative L2 error of all f32 outputs over the calibration data with the layers' current choices. */
infer_status quant_run_error(quant_run *r, const quant_layer *l, int n, double *error, infer_error *err);
void quant_run_close(quant_run *r);

void quant_progress(const quant_options *o, const char *fmt, ...) INFER_PRINTF(2, 3);

#endif
