/* dtype.c — dtype traits (names, sizes, element counts) and the names of devices, CPU ISAs and precisions. */
#include "dtype.h"

const char *infer_dtype_name(infer_dtype d) {
    static const char *names[INFER_DTYPE_COUNT] = { "?", "f32", "f16", "bf16", "i8", "u8", "i32", "i64", "bool" };
    return (d > 0 && d < INFER_DTYPE_COUNT) ? names[d] : "?";
}

size_t infer_dtype_size(infer_dtype d) {
    static const size_t sizes[INFER_DTYPE_COUNT] = { 0, 4, 2, 2, 1, 1, 4, 8, 1 };
    return (d > 0 && d < INFER_DTYPE_COUNT) ? sizes[d] : 0;
}

int64_t infer_tensor_elements(const infer_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

const char *infer_device_name(infer_device d) {
    return d == INFER_DEVICE_CPU ? "cpu" : d == INFER_DEVICE_CUDA ? "cuda" : "auto";
}

const char *infer_cpu_isa_name(infer_cpu_isa isa) {
    static const char *const names[] = { "auto", "scalar", "avx2", "avx512" };
    return (unsigned)isa < sizeof names / sizeof names[0] ? names[isa] : "?";
}

const char *infer_sparse_name(infer_sparse sparse) {
    static const char *const names[] = { "auto", "sparse", "dense" };
    return (unsigned)sparse < sizeof names / sizeof names[0] ? names[sparse] : "?";
}

const char *infer_precision_name(infer_precision p) {
    return p == INFER_PRECISION_TF32 ? "tf32" : p == INFER_PRECISION_FP16 ? "fp16" : p == INFER_PRECISION_BF16 ? "bf16" : "fp32";
}
