/* op_compare.h — outputs of the op test table's runs: copies of the reference's, and the error of a backend's. */
#ifndef INFER_OP_COMPARE_H
#define INFER_OP_COMPARE_H

#include <stddef.h>
#include "infer.h"
#include "op_case.h"

/* The reference's outputs, copied out of its engine. */
typedef struct {
    int n;
    infer_tensor t[OPC_MAX_OUT];
} outputs_copy;

int64_t elements(const infer_tensor *t);
size_t bytes_of(const infer_tensor *t);
int is_float(infer_dtype d); /* f32 or f16: compared by relative L2 */

/* The error of got against want: relative L2 for floats, the count of differing elements for the others.
 * INFINITY when dtype or shape differ or a value is NaN where the reference has a number. why (n bytes)
 * says what differs. */
double output_error(const infer_tensor *got, const infer_tensor *want, char *why, size_t n);

int finite_outputs(const outputs_copy *c);                           /* every float is finite */
int copy_outputs(const infer_tensor *out, int n, outputs_copy *c);   /* -1: out of memory */
void outputs_free(outputs_copy *c);

#endif
