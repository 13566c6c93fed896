/* kernel_util.h — what the CPU kernel tests share: a kernel context (serial or with a thread pool) and a
 * bare node of an op. */
#ifndef INFER_KERNEL_UTIL_H
#define INFER_KERNEL_UTIL_H

#include <criterion/criterion.h>
#include <string.h>
#include "../../kernels/cpu/cpu_kernels.h"
#include "../../runtime/threadpool.h"

/* A context without a pool (threads <= 1: serial) or with a pool of that many threads; no workspace or
 * scratch. pool_destroy(ctx.pool) when done. */
static inline cpu_ctx kernel_ctx(int threads) {
    cpu_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.isa = cpu_detect_isa();
    ctx.threads = 1;
    if (threads > 1) {
        infer_error err;
        cr_assert_eq(pool_create(threads, &ctx.pool, &err), INFER_OK);
        ctx.threads = pool_size(ctx.pool);
    }
    return ctx;
}

/* A node of op with n_in inputs and one output, parameters zeroed, named "test". */
static inline ir_node kernel_node(op_code op, int n_in) {
    ir_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.name = "test";
    n.n_in = n_in;
    n.n_out = 1;
    return n;
}

#endif
