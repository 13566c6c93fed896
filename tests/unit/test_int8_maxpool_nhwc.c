/* test_int8_maxpool_nhwc.c — max pooling on u8 NHWC chain bytes (cpu_maxpool2d with u8 views, maxpool2d_u8_nhwc.c)
 * on every ISA, 1 and 2 threads, bit for bit the f32 NCHW pool of the same values: channels 16, 17, 64, 65, 7x9
 * images, stride 2 pad 1, dilation, ceil mode, a window past the input; bytes past C left alone. */
#include "int8_util.h"

typedef struct { int64_t n, c, h, w; int kh, kw, sh, sw, ph, pw, dh, dw, ceil_mode; } u8_pool_case;

static const u8_pool_case cases[] = {
    /* n  c   h  w  kh kw sh sw ph pw dh dw ceil */
    { 2, 17, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1, 0 },  { 2, 16, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1, 0 },
    { 2, 65, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1, 0 },  { 1, 64, 12, 12, 3, 3, 2, 2, 1, 1, 1, 1, 0 },
    { 3, 17, 7, 9, 2, 2, 2, 2, 0, 0, 1, 1, 1 },  { 1, 65, 9, 7, 3, 3, 1, 1, 1, 1, 2, 2, 0 },
    { 1, 33, 7, 9, 5, 3, 3, 2, 2, 1, 1, 1, 1 },  { 1, 16, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0 },
};

static int64_t pool_out(int64_t in, int k, int s, int p, int d, int ceil_mode) {
    int64_t span = in + 2 * p - (int64_t)d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
    int64_t out = span / s + 1;
    if (ceil_mode && (out - 1) * s >= in + p) out--;
    return out;
}

static int64_t round64(int64_t x) { return (x + 63) / 64 * 64; }

Test(int8_maxpool_nhwc, matches_the_f32_pool_on_every_isa) {
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const u8_pool_case *pc = &cases[t];
        int64_t C = pc->c, oh = pool_out(pc->h, pc->kh, pc->sh, pc->ph, pc->dh, pc->ceil_mode);
        int64_t ow = pool_out(pc->w, pc->kw, pc->sw, pc->pw, pc->dw, pc->ceil_mode);
        int64_t in_pos = pc->n * pc->h * pc->w, out_pos = pc->n * oh * ow, stride = round64(C);
        test_rng r = rng_seed(4100 + t);
        uint8_t *x = rng_u8(&r, in_pos * stride); /* the bytes past C are noise */
        float *xf = malloc((size_t)(in_pos * C) * sizeof *xf), *yf = malloc((size_t)(out_pos * C) * sizeof *yf);
        for (int64_t b = 0; b < pc->n; b++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t i = 0; i < pc->h * pc->w; i++)
                    xf[(b * C + c) * pc->h * pc->w + i] = x[(b * pc->h * pc->w + i) * stride + c];
        ir_node node = kernel_node(OP_MAXPOOL2D, 1);
        node.p.pool2d = (pool2d_params){ { pc->kh, pc->kw }, { pc->sh, pc->sw }, { pc->ph, pc->pw },
                                         { pc->dh, pc->dw }, pc->ceil_mode, 0 };
        int64_t x_dims[4] = { pc->n, C, pc->h, pc->w }, y_dims[4] = { pc->n, C, oh, ow };
        infer_error err;
        cpu_ctx ref = kernel_ctx(1);
        ref.isa = CPU_ISA_SCALAR;
        infer_tensor fin = tview(INFER_F32, xf, 4, x_dims), fout = tview(INFER_F32, yf, 4, y_dims);
        cr_assert_eq(cpu_maxpool2d(&ref, &node, &fin, &fout, &err), INFER_OK, "%s", err.message);
        uint8_t *y = malloc((size_t)(out_pos * stride));
        infer_tensor in = tview(INFER_U8, x, 4, x_dims), out = tview(INFER_U8, y, 4, y_dims);
        for (int threads = 1; threads <= 2; threads++) {
            cpu_ctx ctx = kernel_ctx(threads);
            for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++) {
                ctx.isa = isa;
                memset(y, 0xA5, (size_t)(out_pos * stride));
                cr_assert_eq(cpu_maxpool2d(&ctx, &node, &in, &out, &err), INFER_OK, "%s", err.message);
                for (int64_t pos = 0; pos < out_pos; pos++) {
                    int64_t b = pos / (oh * ow), i = pos % (oh * ow);
                    for (int64_t c = 0; c < C; c++) {
                        float want = yf[(b * C + c) * oh * ow + i];
                        cr_assert_eq((float)y[pos * stride + c], want, "case %zu isa %d threads %d: position %ld "
                                     "channel %ld = %d, want %g", t, isa, threads, (long)pos, (long)c,
                                     y[pos * stride + c], want);
                    }
                    for (int64_t c = C; c < stride; c++)
                        cr_assert_eq(y[pos * stride + c], 0xA5, "case %zu isa %d: byte %ld past C written", t, isa,
                                     (long)c);
                }
            }
            pool_destroy(ctx.pool);
        }
        free(x); free(xf); free(yf); free(y);
    }
}
