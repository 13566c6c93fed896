/* cuda_probe.c — is a usable GPU here? Device count, driver vs runtime version, compute capability. */
#include <stdio.h>
#include <cuda_runtime_api.h>
#include "cuda_backend.h"

#define CUDA_MIN_CC_MAJOR 8 /* the build carries sm_80 and sm_90 code (and compute_90 PTX) */

static int say(char *why, size_t n, int ok, const char *msg) {
    if (why && n) snprintf(why, n, "%s", msg);
    return ok;
}

int cuda_device_usable(char *why, size_t n) {
    char msg[512];
    int count = 0, drv = 0, rt = 0;
    cudaRuntimeGetVersion(&rt);
    cudaError_t e = cudaDriverGetVersion(&drv);
    if (e != cudaSuccess || drv == 0) {
        cudaGetLastError();
        return say(why, n, 0, "no NVIDIA driver found (libcuda.so is not loadable)");
    }
    e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        snprintf(msg, sizeof msg, "cudaGetDeviceCount: %s (%s); driver supports CUDA %d.%d, runtime is %d.%d",
                 cudaGetErrorString(e), cudaGetErrorName(e), drv / 1000, drv % 1000 / 10, rt / 1000, rt % 1000 / 10);
        cudaGetLastError();
        return say(why, n, 0, msg);
    }
    if (count < 1) return say(why, n, 0, "no CUDA device");
    struct cudaDeviceProp p;
    e = cudaGetDeviceProperties(&p, 0);
    if (e != cudaSuccess) {
        snprintf(msg, sizeof msg, "cudaGetDeviceProperties: %s", cudaGetErrorString(e));
        cudaGetLastError();
        return say(why, n, 0, msg);
    }
    if (p.major < CUDA_MIN_CC_MAJOR) {
        snprintf(msg, sizeof msg, "%s has compute capability %d.%d; this build needs %d.0 or newer", p.name, p.major,
                 p.minor, CUDA_MIN_CC_MAJOR);
        return say(why, n, 0, msg);
    }
    snprintf(msg, sizeof msg, "%s, compute capability %d.%d, driver CUDA %d.%d, runtime %d.%d", p.name, p.major,
             p.minor, drv / 1000, drv % 1000 / 10, rt / 1000, rt % 1000 / 10);
    return say(why, n, 1, msg);
}
