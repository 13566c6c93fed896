/* op_sparse.c — the op test table's sparse weights: pruned to a density with all-zero rows, columns or blocks,
 * and written as CSR, BSR or 2:4 with their side tensors (the layouts of docs/FORMAT.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "op_sparse.h"

int op_gen_is_sparse(int gen) { return gen == GEN_SPARSE_CSR || gen == GEN_SPARSE_BSR || gen == GEN_SPARSE_2_4; }

static void view(const op_tensor *t, int64_t *rows, int64_t *cols) {
    *rows = t->ndim ? t->dims[0] : 1;
    *cols = 1;
    for (int d = 1; d < t->ndim; d++) *cols *= t->dims[d];
}

static double unit(uint64_t *s) { /* splitmix64, as a double in [0, 1) */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0);
}

static int block_h(const op_tensor *t) { return t->gen == GEN_SPARSE_BSR ? t->block >> 8 : 1; }
static int block_w(const op_tensor *t) { return t->gen == GEN_SPARSE_BSR ? t->block & 0xFF : 1; }

void op_sparse_prune(const op_tensor *t, float *data) {
    int64_t rows, cols;
    view(t, &rows, &cols);
    int bh = block_h(t), bw = block_w(t), zeros = t->hi > 0;
    uint64_t s = (uint64_t)(rows * 1000003 + cols) ^ (uint64_t)(t->lo * 1e6) ^ ((uint64_t)t->gen << 40);
    int64_t kept = 0;
    for (int64_t br = 0; br < rows / bh; br++)
        for (int64_t bc = 0; bc < cols / bw; bc++) {
            /* whole block rows and columns zero: every 5th (block) row from the 2nd, every 7th column from the 3rd */
            int keep = !(zeros && (br % 5 == 1 || bc % 7 == 2));
            if (t->gen == GEN_SPARSE_2_4) { /* positions p, q of the group of 4 kept, each with probability 2 lo */
                int64_t g = bc / 4 * 4;
                int p = (int)((uint64_t)(br * 7 + g * 3) % 4), q = (p + 1 + (int)((uint64_t)(br + g) % 3)) % 4;
                int in_pair = bc - g == p || bc - g == q;
                keep = keep && in_pair && unit(&s) < 2 * t->lo;
            } else {
                keep = keep && unit(&s) < t->lo;
            }
            for (int i = 0; i < bh; i++)
                for (int j = 0; j < bw; j++)
                    if (!keep) data[(br * bh + i) * cols + bc * bw + j] = 0.0f;
            kept += keep;
        }
    if (!kept && rows && cols && data[0] == 0.0f) data[0] = 0.5f; /* never an all-zero weight */
}

static uint32_t aux_i32(ifg_writer *w, const char *name, const char *suffix, const int32_t *v, int64_t n) {
    char full[80];
    snprintf(full, sizeof full, "%s.%s", name, suffix);
    return ifg_writer_tensor(w, full, INFER_I32, 1, &n, v, (uint64_t)n * sizeof *v);
}

/* CSR (bh = bw = 1) or BSR: values of the blocks holding a non-zero, row-major within a block. */
static uint32_t add_compressed(ifg_writer *w, const char *name, const op_tensor *t, const float *data) {
    int64_t rows, cols;
    view(t, &rows, &cols);
    int bh = block_h(t), bw = block_w(t);
    int64_t nb_rows = rows / bh, nb_cols = cols / bw;
    float *val = malloc((size_t)(rows * cols + 1) * sizeof *val);
    int32_t *idx = malloc((size_t)(nb_rows * nb_cols + 1) * sizeof *idx), *ptr = malloc((size_t)(nb_rows + 1) * sizeof *ptr);
    uint32_t id = IFG_NONE;
    if (val && idx && ptr && bh > 0 && bw > 0 && rows % bh == 0 && cols % bw == 0) {
        int64_t k = 0;
        ptr[0] = 0;
        for (int64_t br = 0; br < nb_rows; br++) {
            for (int64_t bc = 0; bc < nb_cols; bc++) {
                int any = 0;
                for (int i = 0; i < bh; i++)
                    for (int j = 0; j < bw; j++) any |= data[(br * bh + i) * cols + bc * bw + j] != 0.0f;
                if (!any) continue;
                for (int i = 0; i < bh; i++)
                    for (int j = 0; j < bw; j++) val[k * bh * bw + i * bw + j] = data[(br * bh + i) * cols + bc * bw + j];
                idx[k++] = (int32_t)bc;
            }
            ptr[br + 1] = (int32_t)k;
        }
        id = ifg_writer_tensor(w, name, INFER_F32, t->ndim, t->dims, val, (uint64_t)(k * bh * bw) * sizeof *val);
        uint32_t aux[3] = { aux_i32(w, name, "col_idx", idx, k), aux_i32(w, name, "row_ptr", ptr, nb_rows + 1), IFG_NONE };
        if (t->gen == GEN_SPARSE_BSR) ifg_writer_encoding(w, id, IFG_ENC_BSR, aux, 0, 0.0f, 0, (uint32_t)(bh << 16 | bw));
        else ifg_writer_encoding(w, id, IFG_ENC_CSR, aux, 0, 0.0f, 0, 0);
    }
    free(val), free(idx), free(ptr);
    return id;
}

/* 2:4: two values per group of 4 (the non-zeros, then zeros to fill), positions as nibbles idx0 | idx1 << 2. */
static uint32_t add_2_4(ifg_writer *w, const char *name, const op_tensor *t, const float *data) {
    int64_t rows, cols;
    view(t, &rows, &cols);
    int64_t groups = rows * cols / 4;
    float *val = malloc((size_t)(2 * groups + 1) * sizeof *val);
    uint8_t *meta = calloc((size_t)((rows * cols + 7) / 8 + 1), 1);
    uint32_t id = IFG_NONE;
    if (val && meta && cols % 4 == 0) {
        for (int64_t q = 0; q < groups; q++) {
            int pos[2], n = 0;
            for (int j = 0; j < 4 && n < 2; j++)
                if (data[q * 4 + j] != 0.0f) pos[n++] = j;
            for (int j = 0; j < 4 && n < 2; j++) /* fill with zeros not already taken */
                if (data[q * 4 + j] == 0.0f && (n == 0 || pos[0] != j)) pos[n++] = j;
            if (pos[0] > pos[1]) {
                int x = pos[0];
                pos[0] = pos[1], pos[1] = x;
            }
            val[2 * q] = data[q * 4 + pos[0]];
            val[2 * q + 1] = data[q * 4 + pos[1]];
            meta[q / 2] |= (uint8_t)((pos[0] | pos[1] << 2) << (4 * (q % 2)));
        }
        id = ifg_writer_tensor(w, name, INFER_F32, t->ndim, t->dims, val, (uint64_t)(2 * groups) * sizeof *val);
        char full[80];
        snprintf(full, sizeof full, "%s.meta_2_4", name);
        int64_t n = (rows * cols + 7) / 8;
        uint32_t aux[3] = { ifg_writer_tensor(w, full, INFER_U8, 1, &n, meta, (uint64_t)n), IFG_NONE, IFG_NONE };
        ifg_writer_encoding(w, id, IFG_ENC_SPARSE_2_4, aux, 0, 0.0f, 0, 0);
    }
    free(val), free(meta);
    return id;
}

uint32_t op_sparse_add(ifg_writer *w, const char *name, const op_tensor *t, const float *data) {
    return t->gen == GEN_SPARSE_2_4 ? add_2_4(w, name, t, data) : add_compressed(w, name, t, data);
}
