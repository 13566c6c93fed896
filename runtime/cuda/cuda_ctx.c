/* cuda_ctx.c — one engine's CUDA context: device, stream, cuBLASLt and cuDNN handles, warnings, allocation with OOM reports. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "cuda_ctx.h"
#define DISABLE_CUSPARSE_DEPRECATED /* the header's deprecated legacy API is not used */
#include <cusparse.h>
#include "cuda_check.h"
#include "../../kernels/cuda/spmm_cusparselt.h"

infer_status cuda_alloc(void **p, size_t bytes, const char *what, infer_error *err) {
    *p = NULL;
    if (bytes == 0) return INFER_OK;
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    cudaError_t e = cudaMalloc(p, bytes);
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        *p = NULL;
        return infer_fail(err, INFER_ERR_MEMORY,
                          "out of device memory for the %s: asked %zu bytes (%.1f MiB), %zu free of %zu (%.1f of %.1f MiB)",
                          what, bytes, bytes / 1048576.0, free_b, total_b, free_b / 1048576.0, total_b / 1048576.0);
    }
    if (e != cudaSuccess) {
        *p = NULL;
        return cuda_fail_rt(err, e, "cudaMalloc", __FILE__, __LINE__);
    }
    return INFER_OK;
}

/* A line already recorded is not recorded again (each batch size's plans would repeat the same refusals);
 * when the buffer is full, one last line says that later warnings were dropped. */
void cuda_ctx_warn(cuda_ctx *c, const char *fmt, ...) {
    char line[CUDA_WARN_LINE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cuda_warnings_add(c->warnings, sizeof c->warnings, line);
}

void cuda_ctx_env_key(const cuda_ctx *c, char *key, size_t n) {
    int drv = 0, rt = 0;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    snprintf(key, n, "gpu=%s;cc=%d.%d;sms=%d;driver=%d;cudart=%d;cublaslt=%zu;cudnn=%zu", c->gpu_name, c->cc_major,
             c->cc_minor, c->sm_count, drv, rt, cublasLtGetVersion(), cudnnGetVersion());
}

int cuda_device_enter(int device) {
    int previous = -1;
    if (cudaGetDevice(&previous) != cudaSuccess) {
        cudaGetLastError();
        previous = -1;
    }
    if (previous != device && cudaSetDevice(device) != cudaSuccess) cudaGetLastError();
    return previous;
}

void cuda_device_leave(int previous) {
    int now = -1;
    if (previous < 0) return;
    if (cudaGetDevice(&now) == cudaSuccess && now == previous) return;
    if (cudaSetDevice(previous) != cudaSuccess) cudaGetLastError();
}

infer_status cuda_ctx_init(cuda_ctx *c, infer_precision precision, infer_error *err) {
    int device = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    return cuda_ctx_init_on(c, precision, device, err);
}

infer_status cuda_ctx_init_on(cuda_ctx *c, infer_precision precision, int device, infer_error *err) {
    memset(c, 0, sizeof *c);
    c->precision = precision;
    c->fp16 = precision == INFER_PRECISION_FP16;
    c->device = device;
    int count = 0;
    CUDA_CHECK(cudaGetDeviceCount(&count));
    if (device < 0 || device >= count)
        return infer_fail(err, INFER_ERR_ARGUMENT, "device_id %d: this machine has %d CUDA device(s) (0..%d)", device,
                          count, count - 1);
    int current = -1;
    CUDA_CHECK(cudaGetDevice(&current));
    if (current != device) CUDA_CHECK(cudaSetDevice(device));
    struct cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, c->device));
    snprintf(c->gpu_name, sizeof c->gpu_name, "%s", prop.name);
    c->cc_major = prop.major, c->cc_minor = prop.minor, c->sm_count = prop.multiProcessorCount;
    if (prop.major < 8) /* the build carries sm_80 and sm_90 code (cuda_probe.c checks the same) */
        return infer_fail(err, INFER_ERR_NO_DEVICE, "device %d (%s) has compute capability %d.%d; infer needs 8.0 or newer",
                          device, prop.name, prop.major, prop.minor);
    CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    CUBLAS_CHECK(cublasLtCreate(&c->lt));
    CUDNN_CHECK(cudnnCreate(&c->dnn));
    CUDNN_CHECK(cudnnSetStream(c->dnn, c->stream));
    char env[TUNE_CACHE_MAX_FIELD];
    cuda_ctx_env_key(c, env, sizeof env);
    tune_cache_init(&c->cache, env);
    return INFER_OK;
}

infer_status cuda_ctx_blas(cuda_ctx *c, infer_error *err) {
    if (c->blas) return INFER_OK;
    CUBLAS_CHECK(cublasCreate(&c->blas));
    CUBLAS_CHECK(cublasSetStream(c->blas, c->stream));
    return INFER_OK;
}

infer_status cuda_ctx_sparse(cuda_ctx *c, infer_error *err) {
    if (c->sparse) return INFER_OK;
    cusparseHandle_t h = NULL;
    cusparseStatus_t s = cusparseCreate(&h);
    if (s == CUSPARSE_STATUS_SUCCESS) c->sparse = h;
    if (s == CUSPARSE_STATUS_SUCCESS) s = cusparseSetStream(h, c->stream);
    if (s != CUSPARSE_STATUS_SUCCESS)
        return infer_fail(err, INFER_ERR_DEVICE, "cuSPARSE handle: %s (%d)", cusparseGetErrorString(s), (int)s);
    return INFER_OK;
}

void cuda_ctx_destroy(cuda_ctx *c) {
    if (c->stream) cudaStreamSynchronize(c->stream);
    if (c->sparse) cusparseDestroy((cusparseHandle_t)c->sparse);
    c->sparse = NULL;
    cuda_ctx_sparselt_release(c);
    if (c->blas) cublasDestroy(c->blas);
    c->blas = NULL;
    if (c->dnn) cudnnDestroy(c->dnn);
    if (c->lt) cublasLtDestroy(c->lt);
    if (c->stream) cudaStreamDestroy(c->stream);
    tune_cache_free(&c->cache);
    c->dnn = NULL;
    c->lt = NULL;
    c->stream = NULL;
}
