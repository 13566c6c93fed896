/* expand.c — broadcasts x to the output's shape (torch.expand materialized); any dtype. */
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"

CPU_KERNEL(expand) {
    const infer_tensor *ins[1] = { &in[0] };
    if (in[0].dtype != out[0].dtype || infer_dtype_size(in[0].dtype) == 0)
        return infer_fail(err, INFER_ERR_DTYPE, "expand: output dtype %s differs from input %s",
                          infer_dtype_name(out[0].dtype), infer_dtype_name(in[0].dtype));
    bcast_plan plan;
    infer_status st = bcast_plan_init(&plan, &out[0], ins, 1, "expand", err);
    if (st != INFER_OK) return st;
    bcast_copy(ctx->pool, &plan, in[0].data, out[0].data, infer_dtype_size(in[0].dtype));
    return INFER_OK;
}

const cpu_kernel cpu_kernels_expand[] = {
    { .storages = CPU_DENSE, .run = cpu_expand },
    { 0 },
};
