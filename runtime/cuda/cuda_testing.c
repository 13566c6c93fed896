/* cuda_testing.c — one node on the GPU from host tensors (tests): upload, plan, run, download, free. */
#include <stdlib.h>
#include <string.h>
#include "cuda_testing.h"
#include "cuda_backend.h"
#include "cuda_ctx.h"
#include "cuda_check.h"
#include "../../kernels/cuda/dispatch.h"
#include "../../base/half.h"

static int64_t count_of(const infer_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

typedef struct {
    cuda_ctx c;
    void *bufs[IR_MAX_INPUTS + IR_MAX_OUTPUTS + 3];
    int nbufs;
    cuda_node_plan *plan;
} harness;

static infer_status dalloc(harness *h, void **p, size_t bytes, infer_error *err) {
    INFER_TRY(cuda_alloc(p, bytes ? bytes : 256, "test buffer", err));
    h->bufs[h->nbufs++] = *p;
    return INFER_OK;
}

static infer_status to_device(harness *h, const infer_tensor *host, infer_tensor *dev, infer_error *err) {
    *dev = *host;
    dev->dtype = cuda_dev_dtype(host->dtype, h->c.fp16);
    if (!host->data) {
        dev->data = NULL;
        return INFER_OK;
    }
    int64_t n = count_of(host);
    size_t bytes = (size_t)n * infer_dtype_size(dev->dtype);
    INFER_TRY(dalloc(h, &dev->data, bytes, err));
    if (dev->dtype == host->dtype) {
        CUDA_CHECK(cudaMemcpy(dev->data, host->data, bytes, cudaMemcpyHostToDevice));
        return INFER_OK;
    }
    uint16_t *tmp = malloc(bytes ? bytes : 2);
    if (!tmp) return infer_fail(err, INFER_ERR_MEMORY, "out of memory");
    for (int64_t i = 0; i < n; i++) tmp[i] = half_from_float_sat(((const float *)host->data)[i]);
    cudaError_t e = cudaMemcpy(dev->data, tmp, bytes, cudaMemcpyHostToDevice);
    free(tmp);
    CUDA_CHECK(e);
    return INFER_OK;
}

static infer_status to_host(harness *h, const infer_tensor *dev, infer_tensor *host, infer_error *err) {
    int64_t n = count_of(host);
    size_t bytes = (size_t)n * infer_dtype_size(dev->dtype);
    if (dev->dtype == host->dtype) {
        CUDA_CHECK(cudaMemcpy(host->data, dev->data, bytes, cudaMemcpyDeviceToHost));
        return INFER_OK;
    }
    uint16_t *tmp = malloc(bytes ? bytes : 2);
    if (!tmp) return infer_fail(err, INFER_ERR_MEMORY, "out of memory");
    cudaError_t e = cudaMemcpy(tmp, dev->data, bytes, cudaMemcpyDeviceToHost);
    if (e == cudaSuccess)
        for (int64_t i = 0; i < n; i++) ((float *)host->data)[i] = half_to_float(tmp[i]);
    free(tmp);
    CUDA_CHECK(e);
    (void)h;
    return INFER_OK;
}

static infer_status run(harness *h, const ir_node *n, const infer_tensor *in, infer_tensor *out, infer_error *err) {
    cuda_ctx *c = &h->c;
    infer_tensor din[IR_MAX_INPUTS], dout[IR_MAX_OUTPUTS];
    for (int k = 0; k < n->n_in; k++) INFER_TRY(to_device(h, &in[k], &din[k], err));
    for (int k = 0; k < n->n_out; k++) {
        dout[k] = out[k];
        dout[k].dtype = cuda_dev_dtype(out[k].dtype, c->fp16);
        INFER_TRY(dalloc(h, &dout[k].data, (size_t)count_of(&out[k]) * infer_dtype_size(dout[k].dtype), err));
        CUDA_CHECK(cudaMemset(dout[k].data, 0xFF, (size_t)count_of(&out[k]) * infer_dtype_size(dout[k].dtype)));
    }
    INFER_TRY(dalloc(h, (void **)&c->err_flag, 256, err));
    CUDA_CHECK(cudaMemset(c->err_flag, 0, 256));
    c->scratch_bytes = CUDA_CONV_WORKSPACE_CAP;
    INFER_TRY(cuda_node_prepare(c, NULL, n, din, dout, &h->plan, err));
    size_t scratch = cuda_node_scratch(h->plan);
    INFER_TRY(dalloc(h, &c->lt_ws, CUDA_LT_WORKSPACE, err));
    c->lt_ws_bytes = CUDA_LT_WORKSPACE;
    INFER_TRY(dalloc(h, &c->scratch, scratch, err));
    c->scratch_bytes = scratch;
    INFER_TRY(cuda_node_run(c, n, h->plan, din, dout, 1, err));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    unsigned long long flag[2];
    CUDA_CHECK(cudaMemcpy(flag, c->err_flag, sizeof flag, cudaMemcpyDeviceToHost));
    if (flag[0]) return infer_fail(err, INFER_ERR_RUNTIME, "embedding: id %lld is out of range", (long long)flag[1]);
    for (int k = 0; k < n->n_out; k++) INFER_TRY(to_host(h, &dout[k], &out[k], err));
    return INFER_OK;
}

infer_status cuda_test_run_node(const ir_node *n, const infer_tensor *in, infer_tensor *out, infer_precision precision,
                                infer_error *err) {
    char why[512];
    if (!cuda_device_usable(why, sizeof why)) return infer_fail(err, INFER_ERR_NO_DEVICE, "CUDA: %s", why);
    harness *h = calloc(1, sizeof *h);
    if (!h) return infer_fail(err, INFER_ERR_MEMORY, "out of memory");
    infer_status s = cuda_ctx_init(&h->c, precision, err);
    if (s == INFER_OK) s = run(h, n, in, out, err);
    if (h->c.stream) cudaStreamSynchronize(h->c.stream);
    cuda_node_plan_free(h->plan);
    for (int i = 0; i < h->nbufs; i++) cudaFree(h->bufs[i]);
    cuda_ctx_destroy(&h->c);
    free(h);
    return s;
}
