/* cuda_check.c — turning CUDA runtime, cuBLAS and cuDNN status codes into infer_error messages. */
#include "cuda_check.h"

static const char *base_name(const char *file) {
    const char *s = file;
    for (const char *p = file; *p; p++)
        if (*p == '/') s = p + 1;
    return s;
}

infer_status cuda_fail_rt(infer_error *err, cudaError_t code, const char *call, const char *file, int line) {
    infer_status st = code == cudaErrorMemoryAllocation ? INFER_ERR_MEMORY : INFER_ERR_DEVICE;
    if (code == cudaErrorNoDevice || code == cudaErrorInsufficientDriver) st = INFER_ERR_NO_DEVICE;
    return infer_fail(err, st, "CUDA call %s failed at %s:%d: %s (%s)", call, base_name(file), line,
                      cudaGetErrorString(code), cudaGetErrorName(code));
}

infer_status cuda_fail_blas(infer_error *err, cublasStatus_t code, const char *call, const char *file, int line) {
    infer_status st = code == CUBLAS_STATUS_ALLOC_FAILED ? INFER_ERR_MEMORY
                    : code == CUBLAS_STATUS_NOT_SUPPORTED ? INFER_ERR_UNSUPPORTED : INFER_ERR_DEVICE;
    return infer_fail(err, st, "cuBLAS call %s failed at %s:%d: %s (%d)", call, base_name(file), line,
                      cublasLtGetStatusString(code), (int)code);
}

infer_status cuda_fail_dnn(infer_error *err, cudnnStatus_t code, const char *call, const char *file, int line) {
    infer_status st = (code == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
                       code == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED) ? INFER_ERR_MEMORY
                    : CUDNN_STATUS_CATEGORY(code) == CUDNN_STATUS_NOT_SUPPORTED ? INFER_ERR_UNSUPPORTED
                    : INFER_ERR_DEVICE;
    char detail[256];
    detail[0] = 0;
    cudnnGetLastErrorString(detail, sizeof detail);
    return infer_fail(err, st, "cuDNN call %s failed at %s:%d: %s (%d)%s%s", call, base_name(file), line,
                      cudnnGetErrorString(code), (int)code, detail[0] ? ": " : "", detail);
}
