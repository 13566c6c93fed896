/* npy.h — reading and writing NumPy .npy files (format 1.0-3.0, little-endian, C order). */
#ifndef INFER_NPY_H
#define INFER_NPY_H

#include "infer.h"

/* Reads path into t (t->data malloc'ed; free with npy_free). Supports f32, f16, i64, i32, u8, bool;
 * refuses Fortran order, big-endian and other dtypes with a message naming them. */
infer_status npy_load(const char *path, infer_tensor *t, infer_error *err);
void npy_free(infer_tensor *t);

/* Writes t as a version 1.0 file (atomically: temporary file, then rename). */
infer_status npy_save(const char *path, const infer_tensor *t, infer_error *err);

#endif
