/* fuzz_npy.c — libFuzzer target of the .npy reader: bytes -> npy_load; a file it accepts holds exactly the
 * bytes its header describes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "infer.h"
#include "../../loaders/npy.h"

const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1:detect_leaks=1"; }

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    memfd = memfd_create("fuzz_npy", MFD_CLOEXEC);
    if (memfd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size) abort();
    infer_tensor t;
    infer_error err;
    if (npy_load(memfd_path, &t, &err) != INFER_OK) {
        if (!err.message[0]) abort(); /* refused with a message */
        return 0;
    }
    int64_t n = infer_tensor_elements(&t);
    size_t bytes = (size_t)n * infer_dtype_size(t.dtype);
    if (n < 0 || t.ndim < 0 || t.ndim > INFER_MAX_DIMS || bytes > size) abort();
    volatile uint8_t sink = 0; /* every byte of the data is readable */
    for (size_t i = 0; i < bytes; i++) sink ^= ((const uint8_t *)t.data)[i];
    (void)sink;
    npy_free(&t);
    return 0;
}
