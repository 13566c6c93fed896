/* range.c — start + i * step for i < the output's length (i64 exact, f32 computed in double). */
#include "cpu_kernels.h"
#include "../../base/error.h"

CPU_KERNEL(range) {
    const range_params *p = &n->p.range;
    infer_tensor *y = &out[0];
    if (y->ndim != 1 || y->dtype != p->dtype)
        return infer_fail(err, INFER_ERR_SHAPE, "range: output is %d-d %s, expected 1-d %s", y->ndim,
                          infer_dtype_name(y->dtype), infer_dtype_name(p->dtype));
    int64_t length = y->dims[0];
    if (p->dtype == INFER_I64) {
        int64_t *v = y->data;
        for (int64_t i = 0; i < length; i++) /* wrapping (unsigned) arithmetic: no signed overflow */
            v[i] = (int64_t)((uint64_t)p->start + (uint64_t)i * (uint64_t)p->step);
    } else {
        float *v = y->data;
        for (int64_t i = 0; i < length; i++) v[i] = (float)((double)p->fstart + (double)i * (double)p->fstep);
    }
    return INFER_OK;
}

const cpu_kernel cpu_kernels_range[] = {
    { .storages = CPU_DENSE, .run = cpu_range },
    { 0 },
};
