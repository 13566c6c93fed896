/* masked_fill.c — y = mask ? value : x, the bool mask broadcast to x; y may alias x. */
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"

typedef struct {
    const bcast_plan *plan;
    const infer_tensor *x;
    const uint8_t *mask;
    infer_tensor *y;
    float value;
} masked_fill_args;

static void masked_fill_run_f32(void *arg, const int64_t *off, int64_t out_off, int64_t n) {
    const masked_fill_args *A = arg;
    const bcast_plan *p = A->plan;
    int64_t sx = p->stride[0][p->ndim - 1], sm = p->stride[1][p->ndim - 1];
    const float *x = (const float *)A->x->data + off[0];
    const uint8_t *m = A->mask + off[1];
    float *y = (float *)A->y->data + out_off;
    const float value = A->value;
    if (sx && sm) {
        for (int64_t i = 0; i < n; i++) y[i] = m[i] ? value : x[i];
    } else {
        for (int64_t i = 0; i < n; i++) y[i] = m[i * sm] ? value : x[i * sx];
    }
}

/* Integer and bool tensors: the value truncated toward zero. */
static void masked_fill_run_int(void *arg, const int64_t *off, int64_t out_off, int64_t n) {
    const masked_fill_args *A = arg;
    const bcast_plan *p = A->plan;
    int64_t sx = p->stride[0][p->ndim - 1], sm = p->stride[1][p->ndim - 1];
    int64_t value = f64_to_i64(A->value);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = A->mask[off[1] + i * sm] ? value : elem_get_i64(A->x->data, A->x->dtype, off[0] + i * sx);
        elem_set_i64(A->y->data, A->y->dtype, out_off + i, v);
    }
}

CPU_KERNEL(masked_fill) {
    const infer_tensor *ins[2] = { &in[0], &in[1] };
    if (in[1].dtype != INFER_BOOL && in[1].dtype != INFER_U8)
        return infer_fail(err, INFER_ERR_DTYPE, "masked_fill: mask must be bool, got %s", infer_dtype_name(in[1].dtype));
    if (in[0].dtype != out[0].dtype || !elem_dtype_supported(in[0].dtype))
        return infer_fail(err, INFER_ERR_DTYPE, "masked_fill: unsupported dtypes %s -> %s",
                          infer_dtype_name(in[0].dtype), infer_dtype_name(out[0].dtype));
    bcast_plan plan;
    infer_status st = bcast_plan_init(&plan, &out[0], ins, 2, "masked_fill", err);
    if (st != INFER_OK) return st;
    masked_fill_args args = { &plan, &in[0], in[1].data, &out[0], n->p.masked_fill.value };
    bcast_for_each(ctx->pool, &plan, in[0].dtype == INFER_F32 ? masked_fill_run_f32 : masked_fill_run_int, &args);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_masked_fill[] = {
    { .storages = CPU_DENSE, .run = cpu_masked_fill },
    { 0 },
};
