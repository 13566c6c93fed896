/* bcast.c — broadcast indexing for the CUDA elementwise kernels (plain C: no CUDA dependency). */
#include <string.h>
#include "cuda_kernels.h"

int cuda_bcast_build(cuda_bcast *b, int out_ndim, const int64_t *out_dims, int n_in, const int *in_ndim,
                     const int64_t (*in_dims)[INFER_MAX_DIMS]) {
    if (out_ndim < 0 || out_ndim > INFER_MAX_DIMS || n_in < 1 || n_in > CUDA_BCAST_MAX_IN) return 0;
    int64_t st[CUDA_BCAST_MAX_IN][INFER_MAX_DIMS];
    for (int k = 0; k < n_in; k++) {
        int nd = in_ndim[k];
        if (nd < 0 || nd > out_ndim) return 0;
        int64_t stride = 1;
        for (int d = out_ndim - 1; d >= 0; d--) {
            int id = d - (out_ndim - nd);
            if (id < 0) {
                st[k][d] = 0;
                continue;
            }
            int64_t size = in_dims[k][id];
            if (size == out_dims[d]) st[k][d] = size == 1 ? 0 : stride;
            else if (size == 1) st[k][d] = 0;
            else return 0;
            stride *= size;
        }
    }
    memset(b, 0, sizeof *b);
    /* drop size-1 output dims, merge a dim into the previous kept one when every input is contiguous across them */
    int nb = 0;
    for (int d = 0; d < out_ndim; d++) {
        if (out_dims[d] == 1) continue;
        if (nb > 0) {
            int merge = 1;
            for (int k = 0; k < n_in; k++)
                if (b->st[k][nb - 1] != st[k][d] * out_dims[d]) merge = 0;
            if (merge) {
                b->dims[nb - 1] *= out_dims[d];
                for (int k = 0; k < n_in; k++) b->st[k][nb - 1] = st[k][d];
                continue;
            }
        }
        b->dims[nb] = out_dims[d];
        for (int k = 0; k < n_in; k++) b->st[k][nb] = st[k][d];
        nb++;
    }
    if (nb == 0) {
        b->dims[0] = 1;
        nb = 1;
    }
    b->ndim = nb;
    return 1;
}
