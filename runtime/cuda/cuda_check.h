/* cuda_check.h — checking every CUDA, cuBLASLt and cuDNN call: a failure fills infer_error with the call's text, file and line. */
#ifndef INFER_CUDA_CHECK_H
#define INFER_CUDA_CHECK_H

#include <cuda_runtime_api.h>
#include <cublasLt.h>
#include <cudnn.h>
#include "../../base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Each returns the status it recorded: INFER_ERR_MEMORY for out-of-memory codes, else INFER_ERR_DEVICE. */
infer_status cuda_fail_rt(infer_error *err, cudaError_t code, const char *call, const char *file, int line);
infer_status cuda_fail_blas(infer_error *err, cublasStatus_t code, const char *call, const char *file, int line);
infer_status cuda_fail_dnn(infer_error *err, cudnnStatus_t code, const char *call, const char *file, int line);

#ifdef __cplusplus
}
#endif

/* The macros return from the enclosing function, which has an `infer_error *err` in scope. */
#define CUDA_CHECK(call)                                                                       \
    do {                                                                                       \
        cudaError_t cuda_check_e_ = (call);                                                    \
        if (cuda_check_e_ != cudaSuccess) return cuda_fail_rt(err, cuda_check_e_, #call, __FILE__, __LINE__); \
    } while (0)

#define CUBLAS_CHECK(call)                                                                     \
    do {                                                                                       \
        cublasStatus_t cublas_check_s_ = (call);                                               \
        if (cublas_check_s_ != CUBLAS_STATUS_SUCCESS)                                          \
            return cuda_fail_blas(err, cublas_check_s_, #call, __FILE__, __LINE__);            \
    } while (0)

#define CUDNN_CHECK(call)                                                                      \
    do {                                                                                       \
        cudnnStatus_t cudnn_check_s_ = (call);                                                 \
        if (cudnn_check_s_ != CUDNN_STATUS_SUCCESS)                                            \
            return cuda_fail_dnn(err, cudnn_check_s_, #call, __FILE__, __LINE__);              \
    } while (0)

#endif
