/* topk.c — the k largest (or smallest) values of each line along an axis, sorted, with their i64 indices: a
 * stable merge sort of the line's indices (ties keep index order; NaN ranks above every number, as PyTorch). */
#include <math.h>
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"

typedef struct {
    const infer_tensor *x;
    infer_tensor *values, *indices;
    int64_t size, inner, k;
    int largest;
    int64_t *work; /* per thread: 2 * size indices */
} topk_args;

/* a ranks before b (a and b are values; NaN counts as the largest). */
static int before(double a, double b, int largest) {
    if (largest) return (a != a && b == b) || a > b;
    return (b != b && a == a) || a < b;
}

static void topk_lines(void *arg, int64_t begin, int64_t end, int thread) {
    const topk_args *A = arg;
    int64_t *idx = A->work + (size_t)thread * 2 * (size_t)A->size, *tmp = idx + A->size;
    infer_dtype dt = A->x->dtype;
    for (int64_t line = begin; line < end; line++) {
        int64_t base = (line / A->inner) * A->size * A->inner + line % A->inner;
        for (int64_t i = 0; i < A->size; i++) idx[i] = i;
        /* bottom-up merge sort of idx by the values base + idx * inner */
        for (int64_t width = 1; width < A->size; width *= 2) {
            for (int64_t lo = 0; lo < A->size; lo += 2 * width) {
                int64_t mid = lo + width < A->size ? lo + width : A->size;
                int64_t hi = lo + 2 * width < A->size ? lo + 2 * width : A->size, a = lo, b = mid, o = lo;
                while (a < mid && b < hi)
                    tmp[o++] = before(elem_get_f64(A->x->data, dt, base + idx[b] * A->inner),
                                      elem_get_f64(A->x->data, dt, base + idx[a] * A->inner), A->largest)
                                   ? idx[b++] : idx[a++];
                while (a < mid) tmp[o++] = idx[a++];
                while (b < hi) tmp[o++] = idx[b++];
            }
            int64_t *swap = idx;
            idx = tmp, tmp = swap;
        }
        int64_t out_base = (line / A->inner) * A->k * A->inner + line % A->inner;
        size_t es = infer_dtype_size(dt);
        for (int64_t j = 0; j < A->k; j++) {
            const uint8_t *src = (const uint8_t *)A->x->data + (size_t)(base + idx[j] * A->inner) * es;
            uint8_t *dst = (uint8_t *)A->values->data + (size_t)(out_base + j * A->inner) * es;
            for (size_t q = 0; q < es; q++) dst[q] = src[q];
            ((int64_t *)A->indices->data)[out_base + j * A->inner] = idx[j];
        }
        idx = A->work + (size_t)thread * 2 * (size_t)A->size, tmp = idx + A->size;
    }
}

static size_t topk_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)out;
    int axis = n->p.topk.axis < 0 ? n->p.topk.axis + in[0].ndim : n->p.topk.axis;
    if (axis < 0 || axis >= in[0].ndim || in[0].dims[axis] < 0) return SIZE_MAX;
    size_t per, total;
    if (__builtin_mul_overflow((size_t)in[0].dims[axis], 2 * sizeof(int64_t), &per) ||
        __builtin_mul_overflow(per, (size_t)(threads > 1 ? threads : 1), &total) || total > PTRDIFF_MAX)
        return SIZE_MAX;
    return total;
}

CPU_KERNEL(topk) {
    const infer_tensor *x = &in[0];
    const topk_params *p = &n->p.topk;
    int axis = p->axis < 0 ? p->axis + x->ndim : p->axis;
    if (axis < 0 || axis >= x->ndim || !elem_dtype_supported(x->dtype) || x->dtype == INFER_BOOL ||
        out[0].dtype != x->dtype || out[1].dtype != INFER_I64 || p->k > x->dims[axis])
        return infer_fail(err, INFER_ERR_SHAPE, "topk: k %lld along axis %d of a %d-d %s input", (long long)p->k, p->axis,
                          x->ndim, infer_dtype_name(x->dtype));
    topk_args A = { x, &out[0], &out[1], x->dims[axis], 1, p->k < 0 ? x->dims[axis] : p->k, p->largest, ctx->workspace };
    for (int d = axis + 1; d < x->ndim; d++) A.inner *= x->dims[d];
    if (out[0].dims[axis] != A.k || infer_tensor_elements(&out[1]) != infer_tensor_elements(&out[0]))
        return infer_fail(err, INFER_ERR_SHAPE, "topk: outputs must have %lld along axis %d", (long long)A.k, axis);
    size_t need = topk_workspace(n, in, out, ctx->threads);
    if (need == SIZE_MAX || ctx->workspace_bytes < need)
        return infer_fail(err, INFER_ERR_INTERNAL, "topk: workspace of %zu bytes, %zu needed", ctx->workspace_bytes, need);
    if (A.size == 0 || A.inner == 0 || A.k == 0) return INFER_OK;
    int64_t lines = infer_tensor_elements(x) / A.size, grain = 4096 / A.size;
    pool_parallel_for(ctx->pool, lines, grain > 1 ? grain : 1, topk_lines, &A);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_topk[] = {
    { .storages = CPU_DENSE, .run = cpu_topk, .workspace = topk_workspace },
    { 0 },
};
