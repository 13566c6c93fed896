/* test_cuda_plugin.c — the plugin's version checks of the CUDA runtime, cuBLASLt and cuDNN (no GPU needed). */
#include <criterion/criterion.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include <cublasLt.h>
#include <cudnn.h>
#include "../../runtime/cuda/cuda_plugin.h"

/* The versions this plugin was built against: what a well-installed machine has. */
static cuda_lib_versions as_built(void) {
    cuda_lib_versions v = { .runtime = CUDART_VERSION, .cublaslt = CUBLAS_VERSION, .cublaslt_runtime = CUDART_VERSION,
                            .cudnn = CUDNN_VERSION, .cudnn_runtime = CUDART_VERSION, .runtime_file = "/x/libcudart.so",
                            .cublaslt_file = "/x/libcublasLt.so", .cudnn_file = "/x/libcudnn.so.9" };
    return v;
}

static void expect_refused(const cuda_lib_versions *v, const char *const *words) {
    char why[1024] = "";
    cr_assert_eq(cuda_lib_versions_ok(v, why, sizeof why), 0, "accepted");
    for (; *words; words++) cr_expect(strstr(why, *words), "'%s' is not in: %s", *words, why);
}

Test(cuda_plugin, versions_as_built_pass) {
    cuda_lib_versions v = as_built();
    char why[1024] = "";
    cr_expect_eq(cuda_lib_versions_ok(&v, why, sizeof why), 1, "%s", why);
    v.cudnn += 100; /* a newer cuDNN minor */
    cr_expect_eq(cuda_lib_versions_ok(&v, why, sizeof why), 1, "%s", why);
}

Test(cuda_plugin, versions_loaded_here_are_read) {
    cuda_lib_versions v;
    cuda_lib_versions_get(&v);
    cr_expect_gt(v.runtime, 0);
    cr_expect_gt(v.cudnn, 0);
    cr_expect_gt(v.cublaslt, 0);
    cr_expect(strstr(v.cudnn_file, "libcudnn"), "cuDNN file: %s", v.cudnn_file);
    cr_expect(strstr(v.cublaslt_file, "libcublasLt"), "cuBLASLt file: %s", v.cublaslt_file);
    char why[1024] = "";
    cr_log_info("loaded: runtime %d, cuBLASLt %zu, cuDNN %zu: %s", v.runtime, v.cublaslt, v.cudnn,
                cuda_lib_versions_ok(&v, why, sizeof why) ? "ok" : why);
}

Test(cuda_plugin, old_runtime_refused) {
    cuda_lib_versions v = as_built();
    v.runtime = 11080;
    expect_refused(&v, (const char *const[]){ "CUDA runtime", "/x/libcudart.so", "11.8", "12.0 or newer", NULL });
}

Test(cuda_plugin, old_cudnn_refused) {
    cuda_lib_versions v = as_built();
    v.cudnn = 8907; /* cuDNN 8.9.7 numbered the old way */
    expect_refused(&v, (const char *const[]){ "cuDNN", "/x/libcudnn.so.9", "8.9.7", "minimum is 9.0", NULL });
    v = as_built();
    if (CUDNN_MINOR > 0) {
        v.cudnn = (size_t)CUDNN_MAJOR * 10000 + (size_t)(CUDNN_MINOR - 1) * 100; /* older than its headers */
        expect_refused(&v, (const char *const[]){ "cuDNN", "it was built with", NULL });
    }
}

Test(cuda_plugin, old_cublaslt_refused) {
    cuda_lib_versions v = as_built();
    v.cublaslt = 110902;
    expect_refused(&v, (const char *const[]){ "cuBLASLt", "/x/libcublasLt.so", "11.9", "12.0 or newer", NULL });
}

Test(cuda_plugin, libraries_for_another_cuda_refused) {
    cuda_lib_versions v = as_built();
    v.cudnn_runtime = (size_t)(CUDART_VERSION / 1000 - 1) * 1000 + 80;
    expect_refused(&v, (const char *const[]){ "cuDNN", "was built for CUDA", NULL });
    v = as_built();
    v.cublaslt_runtime = (size_t)(CUDART_VERSION / 1000 + 1) * 1000;
    expect_refused(&v, (const char *const[]){ "cuBLASLt", "was built for CUDA", NULL });
}
