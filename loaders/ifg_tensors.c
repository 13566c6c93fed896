/* ifg_tensors.c — .ifg validation step 6: every tensor entry, its data and its storage encoding. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include "ifg_internal.h"

#define TFAIL(fmt, ...)                                                                                   \
    infer_fail(err, INFER_ERR_FORMAT, "tensor %u ('%.200s') at file offset 0x%" PRIx64 ": " fmt, i,       \
               f->tensors[i].name, ifg_entry_offset(r, IFG_SEC_TENSORS, i), ##__VA_ARGS__)

static const char *encoding_names[IFG_ENC_COUNT] = { "dense", "int8 per-tensor", "int8 per-channel",
                                                     "sparse CSR", "block sparse BSR", "2:4 structured" };
/* How many aux tensor ids each encoding uses; the rest must be IFG_NONE. */
static const int encoding_aux_count[IFG_ENC_COUNT] = { 0, 0, 2, 2, 2, 1 };

/* Elements of t with a dynamic batch counted as 1; -1 when the product of its non-zero dims times
 * the element size does not fit in int64 (so that no partial product of its dims can overflow either). */
static int64_t element_count(const ifg_tensor *t) {
    int64_t nonzero = (int64_t)infer_dtype_size(t->dtype), elements = 1;
    for (int d = 0; d < t->ndim; d++) {
        int64_t v = t->dims[d] < 0 ? 1 : t->dims[d];
        if (v != 0 && __builtin_mul_overflow(nonzero, v, &nonzero)) return -1;
        elements *= v;
    }
    return elements;
}

static infer_status check_dims(const ifg_reader *r, ifg_file *f, uint32_t i, const uint8_t *e,
                               infer_error *err) {
    ifg_tensor *t = &f->tensors[i];
    for (int d = 0; d < INFER_MAX_DIMS; d++) {
        int64_t v = ifg_get_i64(e + IFG_T_DIMS + 8 * d);
        if (d >= t->ndim && v != 0)
            return TFAIL("dims[%d] is %" PRId64 " but ndim is %d; unused dims must be zero", d, v, t->ndim);
        if (d < t->ndim && !ifg_dim_ref_ok(r, f, v, d, t->is_constant)) {
            if (r->sec[IFG_SEC_DIMS].present)
                return TFAIL("dims[%d] is %" PRId64 "; dims are >= 0, or -2-e for dim expression e < %u of an "
                             "activation", d, v, f->n_exprs);
            return TFAIL("dims[%d] is %" PRId64 "; dims are >= 0 except dims[0] == -1 (dynamic batch) of an "
                         "activation", d, v);
        }
    }
    if (element_count(t) < 0)
        return TFAIL("dims overflow: the byte size of %d dims starting %" PRId64 " x %" PRId64 " does not fit in "
                     "64 bits", t->ndim, t->dims[0], t->ndim > 1 ? t->dims[1] : 1);
    return INFER_OK;
}

static infer_status check_data(const ifg_reader *r, ifg_file *f, uint32_t i, const uint8_t *e, infer_error *err) {
    ifg_tensor *t = &f->tensors[i];
    uint64_t offset = ifg_get_u64(e + IFG_T_DATA_OFFSET), end;
    if (!t->is_constant) {
        if (offset || t->data_size)
            return TFAIL("an activation has no data, but data [offset 0x%" PRIx64 ", size %" PRIu64 "] is set",
                         offset, t->data_size);
        return INFER_OK;
    }
    if (offset % IFG_DATA_ALIGN)
        return TFAIL("data offset 0x%" PRIx64 " is not a multiple of %d", offset, IFG_DATA_ALIGN);
    if (__builtin_add_overflow(offset, t->data_size, &end) || end > r->data_size)
        return TFAIL("data [offset 0x%" PRIx64 ", size %" PRIu64 "] is outside the data region [0, 0x%" PRIx64
                     ") (file offsets [0x%" PRIx64 ", 0x%" PRIx64 "))", offset, t->data_size, r->data_size,
                     r->data_offset, r->size);
    t->data = r->map + r->data_offset + offset;
    if (t->encoding != IFG_ENC_DENSE) return INFER_OK; /* size rules of the others: check_encoding */
    uint64_t bytes = (uint64_t)element_count(t) * infer_dtype_size(t->dtype);
    if (t->data_size != bytes)
        return TFAIL("data_size is %" PRIu64 " but %s dense data of these dims takes %" PRIu64 " bytes",
                     t->data_size, infer_dtype_name(t->dtype), bytes);
    if (t->dtype == INFER_BOOL) {
        const uint8_t *b = t->data;
        for (uint64_t k = 0; k < t->data_size; k++)
            if (b[k] > 1)
                return TFAIL("bool data byte %" PRIu64 " (file offset 0x%" PRIx64 ") is %u; bool values are 0 or 1",
                             k, r->data_offset + offset + k, b[k]);
    }
    return INFER_OK;
}

/* Fields an encoding does not use: aux ids IFG_NONE and block 0 always; in a 1.0 file also the
 * quantization fields and the reserved bytes zero (a newer minor version may give them meaning). */
static infer_status check_unused(const ifg_reader *r, const ifg_file *f, uint32_t i, const uint8_t *e,
                                 infer_error *err) {
    const ifg_tensor *t = &f->tensors[i];
    for (int k = encoding_aux_count[t->encoding]; k < 3; k++)
        if (t->aux[k] != IFG_NONE)
            return TFAIL("aux%d is %u but the %s encoding uses no aux%d (IFG_NONE expected)", k, t->aux[k],
                         encoding_names[t->encoding], k);
    if (t->block && t->encoding != IFG_ENC_BSR)
        return TFAIL("block is 0x%x but only the block sparse encoding has a block shape", t->block);
    if (!r->strict) return INFER_OK;
    if (t->quant_axis && t->encoding != IFG_ENC_INT8_CHANNEL)
        return TFAIL("quant_axis is %d but only the int8 per-channel encoding has one", t->quant_axis);
    if ((t->scale != 0.0f || t->zero_point) && t->encoding != IFG_ENC_INT8_TENSOR)
        return TFAIL("scale %g / zero_point %d are set but only the int8 per-tensor encoding has them",
                     (double)t->scale, t->zero_point);
    for (int k = IFG_T_RESERVED; k < IFG_TENSOR_ENTRY_SIZE; k++)
        if (e[k]) return TFAIL("reserved byte %d of the entry is 0x%02x; it must be zero", k, e[k]);
    return INFER_OK;
}

/* Step 6 for one entry, without its aux tensors (which may come later in the table). */
static infer_status check_tensor(const ifg_reader *r, ifg_file *f, uint32_t i, infer_error *err) {
    const uint8_t *e = ifg_entry(r, IFG_SEC_TENSORS, i);
    ifg_tensor *t = &f->tensors[i];
    unsigned dtype = e[IFG_T_DTYPE], encoding = e[IFG_T_ENCODING], ndim = e[IFG_T_NDIM], kind = e[IFG_T_KIND];
    if (!t->name[0]) return TFAIL("the name is empty");
    if (dtype < 1 || dtype >= INFER_DTYPE_COUNT)
        return TFAIL("dtype code %u is unknown (known codes are 1..%d)", dtype, INFER_DTYPE_COUNT - 1);
    if (encoding >= IFG_ENC_COUNT)
        return TFAIL("encoding code %u is unknown (known codes are 0..%d)", encoding, IFG_ENC_COUNT - 1);
    if (ndim > INFER_MAX_DIMS) return TFAIL("ndim %u is more than %d", ndim, INFER_MAX_DIMS);
    if (kind > IFG_TENSOR_CONSTANT) return TFAIL("kind %u is neither 0 (activation) nor 1 (constant)", kind);
    t->dtype = (infer_dtype)dtype;
    t->encoding = (int)encoding;
    t->ndim = (int)ndim;
    t->is_constant = kind == IFG_TENSOR_CONSTANT;
    for (int d = 0; d < INFER_MAX_DIMS; d++) t->dims[d] = ifg_get_i64(e + IFG_T_DIMS + 8 * d);
    t->data_size = ifg_get_u64(e + IFG_T_DATA_SIZE);
    for (int k = 0; k < 3; k++) t->aux[k] = ifg_get_u32(e + IFG_T_AUX + 4 * k);
    t->quant_axis = ifg_get_i32(e + IFG_T_QUANT_AXIS);
    t->scale = ifg_get_f32(e + IFG_T_SCALE);
    t->zero_point = ifg_get_i32(e + IFG_T_ZERO_POINT);
    t->block = ifg_get_u32(e + IFG_T_BLOCK);
    if (!t->is_constant && encoding != IFG_ENC_DENSE)
        return TFAIL("an activation must be dense but has encoding %u (%s)", encoding, encoding_names[encoding]);
    infer_status st = check_dims(r, f, i, e, err);
    if (st == INFER_OK) st = check_data(r, f, i, e, err);
    if (st == INFER_OK) st = check_unused(r, f, i, e, err);
    return st;
}

/* ---- encodings ------------------------------------------------------------------------ */

/* The aux tensor in slot k of tensor i: a dense constant of dtype with `elements` elements. */
static infer_status check_aux(const ifg_reader *r, const ifg_file *f, uint32_t i, int k, const char *role,
                              infer_dtype dtype, int64_t elements, const ifg_tensor **out, infer_error *err) {
    uint32_t id = f->tensors[i].aux[k];
    if (id >= f->n_tensors)
        return TFAIL("aux%d (%s) is %u, not a tensor id (the file has %u tensors)", k, role, id, f->n_tensors);
    const ifg_tensor *a = &f->tensors[id];
    if (!a->is_constant || a->encoding != IFG_ENC_DENSE || a->dtype != dtype || element_count(a) != elements)
        return TFAIL("aux%d (%s) is tensor %u ('%.200s'), which is not a dense %s constant of %" PRId64 " elements",
                     k, role, id, a->name, infer_dtype_name(dtype), elements);
    *out = a;
    return INFER_OK;
}

/* Compressed row pointers ptr[rows + 1] (0, non-decreasing, ending at nnz) and indices idx[nnz] < cols. */
static infer_status check_compressed(const ifg_reader *r, const ifg_file *f, uint32_t i, const ifg_tensor *ptr,
                                     int64_t rows, const ifg_tensor *idx, int64_t nnz, int64_t cols,
                                     infer_error *err) {
    const uint8_t *p = ptr->data, *x = idx->data;
    int32_t prev = 0;
    for (int64_t k = 0; k <= rows; k++) {
        int32_t v = ifg_get_i32(p + 4 * k);
        if ((k == 0 && v != 0) || v < prev || (k == rows && v != nnz))
            return TFAIL("row pointer %" PRId64 " is %d; row pointers start at 0, never decrease and end at %" PRId64,
                         k, v, nnz);
        prev = v;
    }
    for (int64_t k = 0; k < nnz; k++) {
        int32_t c = ifg_get_i32(x + 4 * k);
        if (c < 0 || c >= cols)
            return TFAIL("column index %" PRId64 " is %d, outside [0, %" PRId64 ")", k, c, cols);
    }
    return INFER_OK;
}

static infer_status check_encoding(const ifg_reader *r, const ifg_file *f, uint32_t i, infer_error *err) {
    const ifg_tensor *t = &f->tensors[i], *a0 = NULL, *a1 = NULL;
    int64_t elements = element_count(t), esize = (int64_t)infer_dtype_size(t->dtype);
    int64_t rows = t->ndim ? t->dims[0] : 1, cols = rows ? elements / rows : 0;
    if (rows == 0) { /* cols cannot be derived from the element count; the product does not overflow */
        cols = 1;
        for (int d = 1; d < t->ndim; d++) cols *= t->dims[d];
    }
    const char *name = encoding_names[t->encoding];
    infer_status st = INFER_OK;
    if (t->encoding == IFG_ENC_INT8_TENSOR || t->encoding == IFG_ENC_INT8_CHANNEL) {
        if (t->data_size != (uint64_t)elements)
            return TFAIL("data_size is %" PRIu64 " but %s data of these dims takes %" PRId64 " bytes", t->data_size,
                         name, elements);
    }
    if (t->encoding == IFG_ENC_INT8_TENSOR) {
        if (!isfinite(t->scale) || t->zero_point < -128 || t->zero_point > 127)
            return TFAIL("int8 per-tensor scale %g / zero_point %d: the scale must be finite and the zero "
                         "point within [-128, 127]", (double)t->scale, t->zero_point);
        return INFER_OK;
    }
    if (t->ndim == 0) return TFAIL("a scalar cannot use the %s encoding", name);
    if (t->encoding == IFG_ENC_INT8_CHANNEL) {
        if (t->quant_axis < 0 || t->quant_axis >= t->ndim)
            return TFAIL("quant_axis %d is outside [0, %d)", t->quant_axis, t->ndim);
        int64_t channels = t->dims[t->quant_axis];
        st = check_aux(r, f, i, 0, "scales", INFER_F32, channels, &a0, err);
        if (st == INFER_OK && t->aux[1] != IFG_NONE)
            st = check_aux(r, f, i, 1, "zero points", INFER_I32, channels, &a1, err);
        return st;
    }
    if (t->encoding == IFG_ENC_SPARSE_2_4) {
        if (cols % 4 || t->data_size != (uint64_t)(elements / 2 * esize))
            return TFAIL("%s needs a multiple of 4 columns (has %" PRId64 ") and data_size %" PRId64 " (has %" PRIu64
                         ")", name, cols, elements / 2 * esize, t->data_size);
        return check_aux(r, f, i, 0, "metadata", INFER_U8, (elements + 7) / 8, &a0, err);
    }
    /* CSR, or BSR with blocks of bh x bw over the 2-D view */
    int64_t bh = 1, bw = 1;
    if (t->encoding == IFG_ENC_BSR) {
        bh = t->block >> 16;
        bw = t->block & 0xFFFF;
        if (bh == 0 || bw == 0 || rows % bh || cols % bw)
            return TFAIL("block %" PRId64 "x%" PRId64 " does not tile the %" PRId64 "x%" PRId64 " 2-D view", bh, bw,
                         rows, cols);
    }
    int64_t block_bytes = bh * bw * esize, nnz = (int64_t)(t->data_size / (uint64_t)block_bytes);
    if (t->data_size % (uint64_t)block_bytes || nnz > (rows / bh) * (cols / bw))
        return TFAIL("data_size %" PRIu64 " is not a whole number of %" PRId64 "-byte %s, at most %" PRId64, t->data_size,
                     block_bytes, bh * bw > 1 ? "blocks" : "values", (rows / bh) * (cols / bw));
    st = check_aux(r, f, i, 0, "column indices", INFER_I32, nnz, &a0, err);
    if (st == INFER_OK) st = check_aux(r, f, i, 1, "row pointers", INFER_I32, rows / bh + 1, &a1, err);
    if (st == INFER_OK) st = check_compressed(r, f, i, a1, rows / bh, a0, nnz, cols / bw, err);
    return st;
}

static const char *tensor_name_of(const void *items, uint32_t i) { return ((const ifg_tensor *)items)[i].name; }

infer_status ifg_decode_tensors(const ifg_reader *r, ifg_file *f, infer_error *err) {
    for (uint32_t i = 0; i < f->n_tensors; i++) {
        infer_status st = check_tensor(r, f, i, err);
        if (st != INFER_OK) return st;
    }
    uint64_t cap = 2;
    while (cap < 2 * (uint64_t)f->n_tensors) cap *= 2;
    uint32_t *table = cap <= UINT32_MAX ? malloc(cap * sizeof *table) : NULL, first, second;
    if (!table) return infer_fail(err, INFER_ERR_MEMORY, "out of memory checking %u tensor names", f->n_tensors);
    int dup = ifg_find_duplicate(tensor_name_of, f->tensors, f->n_tensors, table, (uint32_t)cap, &first, &second);
    free(table);
    if (dup) {
        uint32_t i = second;
        return TFAIL("the name is also the name of tensor %u; tensor names are unique", first);
    }
    for (uint32_t i = 0; i < f->n_tensors; i++) {
        if (!f->tensors[i].is_constant || f->tensors[i].encoding == IFG_ENC_DENSE) continue;
        infer_status st = check_encoding(r, f, i, err);
        if (st != INFER_OK) return st;
    }
    return INFER_OK;
}
