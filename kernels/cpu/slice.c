/* slice.c — x[start:end:step] along one axis, any dtype; start/end clamped like PyTorch. */
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"

/* PyTorch's clamping: negatives count from the end, then both ends clamp to [0, size]. */
static int64_t clamp_index(int64_t i, int64_t size) {
    if (i < 0) i = i < -size ? 0 : i + size;
    return i > size ? size : i;
}

CPU_KERNEL(slice) {
    const slice_params *p = &n->p.slice;
    const infer_tensor *x = &in[0];
    int axis = p->axis < 0 ? p->axis + x->ndim : p->axis;
    size_t esize = infer_dtype_size(x->dtype);
    if (axis < 0 || axis >= x->ndim || p->step < 1 || esize == 0)
        return infer_fail(err, INFER_ERR_SHAPE, "slice: axis %d, step %lld on a %d-d input", p->axis,
                          (long long)p->step, x->ndim);
    int64_t size = x->dims[axis], start = clamp_index(p->start, size), end = clamp_index(p->end, size);
    int64_t len = end > start ? (end - start - 1) / p->step + 1 : 0;
    if (p->end_expr) { /* the end follows named dims: shape inference evaluated it into the output's size */
        int64_t room = size > start ? (size - start - 1) / p->step + 1 : 0;
        len = axis < out[0].ndim && out[0].dims[axis] <= room ? out[0].dims[axis] : -1;
    }
    int fits = out[0].ndim == x->ndim && out[0].dtype == x->dtype;
    for (int k = 0; fits && k < x->ndim; k++) fits = out[0].dims[k] == (k == axis ? len : x->dims[k]);
    if (!fits)
        return infer_fail(err, INFER_ERR_SHAPE, "slice: output does not match %lld elements [%lld:%lld:%lld] along axis %d",
                          (long long)len, (long long)start, (long long)end, (long long)p->step, axis);
    if (infer_tensor_elements(&out[0]) == 0) return INFER_OK;
    /* A step beyond the size leaves one element, whose stride does not matter: clamped, no overflow. */
    int64_t step = p->step < size ? p->step : size;
    int64_t strides[INFER_MAX_DIMS], s = 1, axis_stride = 1;
    for (int k = x->ndim - 1; k >= 0; k--) {
        if (k == axis) axis_stride = s;
        strides[k] = k == axis ? s * step : s;
        s *= x->dims[k];
    }
    bcast_plan plan;
    bcast_plan_strided(&plan, out[0].ndim, out[0].dims, strides);
    bcast_copy(ctx->pool, &plan, (const uint8_t *)x->data + start * axis_stride * (int64_t)esize, out[0].data, esize);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_slice[] = {
    { .storages = CPU_DENSE, .run = cpu_slice },
    { 0 },
};
