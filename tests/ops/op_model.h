/* op_model.h — a row of the op test table as a model file and its seeded input data. */
#ifndef INFER_OP_MODEL_H
#define INFER_OP_MODEL_H

#include "op_case.h"

/* One case to run: a row, at one value of its sweep attribute (when it has one). */
typedef struct {
    const op_case *row;
    int sweep_value;
    char name[160];  /* the row's name, with " kind=3" for a sweep */
    uint64_t seed;   /* from the name: filtering leaves every case's data as it is */
} op_instance;

/* The host inputs of a case, in the model's input order. bad: the data of a row that expects a run
 * error (the same as good otherwise). */
typedef struct {
    int n;
    infer_tensor good[OPC_MAX_IN + OPC_MAX_THEN];
    infer_tensor bad[OPC_MAX_IN + OPC_MAX_THEN];
} op_inputs;

void op_instance_init(op_instance *ci, const op_case *row, int sweep_value);

/* Writes the case as a model file at path: the op node, then the row's `then` nodes on its output 0.
 * GEN_INT8_CHANNEL constants are stored int8 per channel, GEN_SPARSE_* ones sparse (the backends' model), or
 * f32 when as_float. */
infer_status op_model_save(const op_instance *ci, const char *path, infer_error *err);
infer_status op_model_save_as(const op_instance *ci, const char *path, int as_float, infer_error *err);
int op_case_has_int8(const op_case *row); /* a GEN_INT8_CHANNEL input */
/* a GEN_INT8_CHANNEL or GEN_SPARSE_* input: the reference runs the model written as_float (dense f32 weights) */
int op_case_has_encoded(const op_case *row);

/* Fills in with the case's inputs (malloc'ed; op_inputs_free releases them). */
infer_status op_inputs_make(const op_instance *ci, op_inputs *in, infer_error *err);
void op_inputs_free(op_inputs *in);

/* Floating-point operations of one run (conv2d, linear, matmul, attention, lstm); 0 for the others. */
double op_instance_flops(const op_instance *ci);

#endif
