/* dtype.h — dtype traits beyond the public ones of infer.h (infer_dtype_name, infer_dtype_size, infer_tensor_elements). */
#ifndef INFER_DTYPE_H
#define INFER_DTYPE_H

#include "infer.h"

/* f32, f16 or bf16. */
static inline int dtype_is_float(infer_dtype d) { return d == INFER_F32 || d == INFER_F16 || d == INFER_BF16; }

#endif
