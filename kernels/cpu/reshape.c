/* reshape.c — a new shape over the same elements: a copy, or nothing when run in place. */
#include <string.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

CPU_KERNEL(reshape) {
    int64_t count = infer_tensor_elements(&in[0]);
    if (out[0].dtype != in[0].dtype || infer_tensor_elements(&out[0]) != count)
        return infer_fail(err, INFER_ERR_SHAPE, "reshape: output (%s, %lld elements) differs from input (%s, %lld)",
                          infer_dtype_name(out[0].dtype), (long long)infer_tensor_elements(&out[0]),
                          infer_dtype_name(in[0].dtype), (long long)count);
    size_t bytes = (size_t)count * infer_dtype_size(in[0].dtype);
    if (out[0].data != in[0].data && bytes) memcpy(out[0].data, in[0].data, bytes);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_reshape[] = {
    { .storages = CPU_DENSE, .run = cpu_reshape },
    { 0 },
};
