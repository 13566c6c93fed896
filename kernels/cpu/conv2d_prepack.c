/* conv2d_prepack.c — the dense conv2d kernel's weights prepacked at engine build: Winograd's transformed weights
 * for the 3x3 layers it takes (conv2d_winograd.c), else the weights as the GEMM's row slivers (cpu_sgemm_pack_a). */
#include <stdio.h>
#include <string.h>
#include "conv2d.h"
#include "conv2d_winograd.h"
#include "gemm_internal.h"

#define ROWS_MAGIC 0x524f5753u /* "ROWS" */

/* In front of the slivers, 64 bytes so that they start on a cache line. */
typedef struct {
    uint32_t magic;
    int32_t isa;
    int64_t out_channels, columns; /* the GEMM's M and K: out channels, in channels x kernel taps */
    uint8_t pad[40];
} rows_header;

/* Groups-1 convolutions with more output positions per image than the small-N GEMM path takes: packed rows
 * give the micro-kernel one contiguous stream of weights per tile (bench/RESULTS.md: 1.1-1.25x on the 7x7 and
 * 14x14 layers whose weights come from memory); fewer positions keep the weights as they are. */
static int rows_geometry(const ir_node *n, const infer_tensor *in, int64_t *m, int64_t *k) {
    conv_geometry g;
    if (n->n_in < 2 || !in[1].data || in[1].dtype != INFER_F32 || !conv_geometry_of_inputs(n, in, &g) ||
        g.groups != 1 || g.out_height * g.out_width <= GEMM_SMALL_M)
        return 0;
    *m = g.out_channels;
    *k = g.channels * g.kernel_h * g.kernel_w;
    return *m > 0 && *k > 0;
}

size_t conv2d_prepack_size_for(const ir_node *n, const infer_tensor *in, int isa, infer_winograd mode) {
    size_t winograd = conv_winograd_prepack_size(n, in, isa, mode);
    if (winograd) return winograd;
    size_t small = conv_small_prepack_size(n, in, isa, 0); /* few output positions: conv2d_small.c */
    if (small) return small;
    return conv2d_rows_prepack_size(n, in, isa);
}

size_t conv2d_rows_prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    int64_t m, k;
    if (!rows_geometry(n, in, &m, &k)) return 0;
    size_t bytes = cpu_sgemm_packed_a_size(isa, m, k);
    return bytes == SIZE_MAX || bytes > SIZE_MAX / 2 ? 0 : sizeof(rows_header) + bytes;
}

void conv2d_prepack_for(const ir_node *n, const infer_tensor *in, int isa, infer_winograd mode, void *dst) {
    if (conv_winograd_prepack_size(n, in, isa, mode)) {
        cpu_conv2d_winograd_prepack(n, in, isa, dst);
        conv_winograd_set_mode(dst, mode);
        return;
    }
    if (conv_small_prepack_size(n, in, isa, 0)) {
        conv_small_prepack(n, in, isa, dst);
        return;
    }
    conv2d_rows_prepack(n, in, isa, dst);
}

void conv2d_rows_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    int64_t m, k;
    if (!rows_geometry(n, in, &m, &k)) return; /* the size was 0 */
    rows_header *h = dst;
    memset(h, 0, sizeof *h);
    h->magic = ROWS_MAGIC;
    h->isa = isa;
    h->out_channels = m;
    h->columns = k;
    cpu_sgemm_pack_a(isa, m, k, in[1].data, k, (float *)(h + 1));
}

size_t cpu_conv2d_prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    return conv2d_prepack_size_for(n, in, isa, n->p.conv2d.winograd);
}

void cpu_conv2d_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    conv2d_prepack_for(n, in, isa, n->p.conv2d.winograd, dst);
}

void cpu_conv2d_prepack_describe(const void *packed, char *buf, size_t size) {
    const rows_header *h = packed;
    if (h && h->magic == ROWS_MAGIC) snprintf(buf, size, "GEMM rows packed");
    else if (conv_small_describe(packed, buf, size)) return;
    else cpu_conv2d_winograd_describe(packed, buf, size);
}

/* Packed rows serve every run (any batch, merged or per image, and the 1x1 + depthwise strips), and so do the
 * small-image layer's (a run at a smaller batch has fewer positions); Winograd's AUTO layers fall back to im2col
 * on the original weights at runs of few tiles. */
int cpu_conv2d_packed_only(const void *prepacked, int isa) {
    const rows_header *h = prepacked;
    return (h && h->magic == ROWS_MAGIC && h->isa == isa) || conv_small_packed(prepacked, isa);
}

const float *conv2d_packed_rows(const void *prepacked, const conv_geometry *g, int isa) {
    const rows_header *h = prepacked;
    if (!h || h->magic != ROWS_MAGIC || h->isa != isa || g->groups != 1 || h->out_channels != g->out_channels ||
        h->columns != g->channels * g->kernel_h * g->kernel_w)
        return NULL;
    return (const float *)(h + 1);
}
