/* gru.cu — gru has no CUDA kernel yet: its nodes run on the CPU (listed by `infer info --device cuda`). */
#include "cuda_ops.h"

extern "C" const cuda_kernel cuda_kernels_gru[] = {
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
