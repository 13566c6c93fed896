/* simple_run.c — the smallest complete use of the C API: load a model, build an engine, run it once. */
#include <stdio.h>
#include <stdlib.h>
#include <infer.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.ifg\n", argv[0]);
        return 2;
    }
    infer_error err;
    infer_model *model = NULL;
    if (infer_model_load(argv[1], &model, &err) != INFER_OK) {
        fprintf(stderr, "load failed: %s\n", err.message);
        return 1;
    }

    /* One input per model input, batch 1, filled with a simple pattern. */
    int n_in = infer_model_input_count(model), n_out = infer_model_output_count(model);
    infer_tensor *inputs = calloc((size_t)n_in, sizeof *inputs);
    infer_tensor *outputs = calloc((size_t)n_out, sizeof *outputs);
    for (int i = 0; i < n_in; i++) {
        infer_tensor_info info;
        infer_model_input(model, i, &info);
        inputs[i].dtype = info.dtype;
        inputs[i].ndim = info.ndim;
        for (int d = 0; d < info.ndim; d++) inputs[i].dims[d] = info.dims[d] < 0 ? 1 : info.dims[d];
        int64_t n = infer_tensor_elements(&inputs[i]);
        inputs[i].data = calloc((size_t)n, infer_dtype_size(info.dtype));
        if (info.dtype == INFER_F32)
            for (int64_t k = 0; k < n; k++) ((float *)inputs[i].data)[k] = (float)(k % 17) / 17.0f - 0.5f;
    }

    infer_engine_options options;
    infer_engine_options_init(&options); /* device auto: CUDA when a GPU is usable */
    infer_engine *engine = NULL;
    int rc = 0;
    if (infer_engine_create(model, &options, &engine, &err) != INFER_OK ||
        infer_engine_run(engine, inputs, n_in, outputs, n_out, &err) != INFER_OK) {
        fprintf(stderr, "failed: %s\n", err.message);
        rc = 1;
    }
    for (int i = 0; rc == 0 && i < n_out; i++) {
        infer_tensor_info info;
        infer_model_output(model, i, &info);
        printf("output %s: %lld values", info.name, (long long)infer_tensor_elements(&outputs[i]));
        if (outputs[i].dtype == INFER_F32) printf(", first %g", ((float *)outputs[i].data)[0]);
        printf("\n");
    }
    infer_engine_destroy(engine);
    for (int i = 0; i < n_in; i++) free(inputs[i].data);
    free(inputs);
    free(outputs);
    infer_model_free(model);
    return rc;
}
