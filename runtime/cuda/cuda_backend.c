/* cuda_backend.c — the CUDA backend's table (create, run, destroy, stats, node_device). */
#include <stdlib.h>
#include "cuda_backend.h"
#include "../engine.h"
#include "../error.h"

static infer_status cuda_create(infer_engine *e, infer_error *err) {
    char why[512];
    if (!cuda_device_usable(why, sizeof why)) return infer_fail(err, INFER_ERR_NO_DEVICE, "CUDA: %s", why);
    (void)e;
    return infer_fail(err, INFER_ERR_UNSUPPORTED, "CUDA backend: engine creation is not implemented yet");
}

static infer_status cuda_run(infer_engine *e, const infer_tensor *inputs, infer_tensor *outputs, infer_error *err) {
    (void)e, (void)inputs, (void)outputs;
    return infer_fail(err, INFER_ERR_INTERNAL, "CUDA backend: run without an engine");
}

static void cuda_destroy(infer_engine *e) { (void)e; }

static const backend_ops cuda_ops = {
    .name = "cuda",
    .device = INFER_DEVICE_CUDA,
    .caps = { .fuse_conv_act = 1, .fuse_linear_act = 1, .fuse_residual = 1, .allowed_acts = (1 << ACT_COUNT) - 1 },
    .create = cuda_create,
    .run = cuda_run,
    .destroy = cuda_destroy,
    .stats = NULL,
    .node_device = NULL,
};

const backend_ops *cuda_backend_get(void) { return &cuda_ops; }

const char *cuda_engine_warnings(const struct infer_engine *e) {
    (void)e;
    return "";
}
