/* cuda_test_hooks.h — make a CUDA engine take its rare paths on purpose, for tests: a refused fused convolution, a failed graph launch, cuBLASLt without an algorithm. */
#ifndef INFER_CUDA_TEST_HOOKS_H
#define INFER_CUDA_TEST_HOOKS_H

#include "infer.h"

/* Every convolution plan of the engine (the batch sizes planned so far) has its fused cuDNN call answer
 * NOT_SUPPORTED on its next first run, as cuDNN does for a combination it refuses; the engine must fall
 * back to the unfused call and its epilogue. Returns how many plans it marked (0 on a CPU engine). */
int cuda_test_refuse_fused_conv(infer_engine *e);
/* From now on every CUDA Graph launch of the engine fails, as a launch can; the engine must run those
 * batches on the stream. Returns 0 on a CPU engine, 1 otherwise. */
int cuda_test_fail_graph_launch(infer_engine *e);

/* Every GEMM plan of the engine (batch sizes planned so far) runs through cublasGemmEx and our epilogue,
 * as when cuBLASLt finds no algorithm. Returns how many plans it changed (0 on a CPU engine). */
int cuda_test_force_gemmex(infer_engine *e);

#endif
