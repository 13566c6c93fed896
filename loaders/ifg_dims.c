/* ifg_dims.c — .ifg validation of named dynamic dims: the DIMS and EXPRS sections (1.1), a 1.0 file's batch, inputs. */
#include <inttypes.h>
#include <stdlib.h>
#include "ifg_internal.h"

#define DIM_LIMIT ((int64_t)1 << 40) /* largest range maximum a dim may declare */

#define DFAIL(kind, i, fmt, ...)                                                                            \
    infer_fail(err, INFER_ERR_FORMAT, "%s entry %u at file offset 0x%" PRIx64 ": " fmt, ifg_section_name(kind), \
               (unsigned)(i), ifg_entry_offset(r, kind, i), ##__VA_ARGS__)

static int is_identifier(const char *s) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static infer_status decode_dim(const ifg_reader *r, ifg_file *f, uint32_t i, infer_error *err) {
    const uint8_t *e = ifg_entry(r, IFG_SEC_DIMS, i);
    ifg_dyn_dim *d = &f->dyn_dims[i];
    const char *problem = NULL;
    d->name = ifg_string_at(r, ifg_get_u32(e), &problem);
    if (!d->name) return DFAIL(IFG_SEC_DIMS, i, "name string offset %u %s", ifg_get_u32(e), problem);
    if (!is_identifier(d->name)) return DFAIL(IFG_SEC_DIMS, i, "name '%.100s' is not an identifier", d->name);
    for (uint32_t k = 0; k < i; k++)
        if (strcmp(f->dyn_dims[k].name, d->name) == 0)
            return DFAIL(IFG_SEC_DIMS, i, "name '%.100s' is also dim %u's", d->name, k);
    if (ifg_get_u32(e + 4)) return DFAIL(IFG_SEC_DIMS, i, "reserved bytes [4, 8) must be zero");
    d->min = ifg_get_i64(e + 8);
    d->max = ifg_get_i64(e + 16);
    d->example = ifg_get_i64(e + 24);
    if (d->min < 1 || d->min > d->example || d->example > d->max || d->max > DIM_LIMIT)
        return DFAIL(IFG_SEC_DIMS, i, "dim '%s': min %" PRId64 ", example %" PRId64 ", max %" PRId64 " must satisfy "
                     "1 <= min <= example <= max <= 2^40", d->name, d->min, d->example, d->max);
    for (uint32_t k = 32; k < r->sec[IFG_SEC_DIMS].entry_size && r->strict; k++)
        if (e[k]) return DFAIL(IFG_SEC_DIMS, i, "byte %u after the entry's fields must be zero", k);
    return INFER_OK;
}

static infer_status decode_expr(const ifg_reader *r, ifg_file *f, uint32_t i, infer_error *err) {
    const uint8_t *e = ifg_entry(r, IFG_SEC_EXPRS, i);
    ifg_expr *x = &f->exprs[i];
    x->coef = ifg_get_i64(e);
    x->offset = ifg_get_i64(e + 8);
    x->flags = ifg_get_u32(e + 16);
    x->n_factors = ifg_get_u32(e + 20);
    if (x->flags & ~IFG_EXPR_UNCHECKED) return DFAIL(IFG_SEC_EXPRS, i, "flags 0x%x has unknown bits", x->flags);
    if (x->n_factors < 1 || x->n_factors > IFG_MAX_EXPR_FACTORS)
        return DFAIL(IFG_SEC_EXPRS, i, "n_factors is %u, must be 1..%d", x->n_factors, IFG_MAX_EXPR_FACTORS);
    for (uint32_t k = 0; k < IFG_MAX_EXPR_FACTORS; k++) {
        x->sym[k] = ifg_get_u32(e + 24 + 8 * k);
        x->power[k] = ifg_get_u32(e + 28 + 8 * k);
        if (k >= x->n_factors) {
            if (x->sym[k] || x->power[k]) return DFAIL(IFG_SEC_EXPRS, i, "unused factor %u must be zero", k);
            continue;
        }
        if (x->sym[k] >= f->n_dyn_dims)
            return DFAIL(IFG_SEC_EXPRS, i, "factor %u names dim %u; the file has %u", k, x->sym[k], f->n_dyn_dims);
        if (x->power[k] < 1 || x->power[k] > IFG_MAX_EXPR_POWER)
            return DFAIL(IFG_SEC_EXPRS, i, "factor %u has power %u, must be 1..%d", k, x->power[k], IFG_MAX_EXPR_POWER);
        for (uint32_t j = 0; j < k; j++)
            if (x->sym[j] == x->sym[k]) return DFAIL(IFG_SEC_EXPRS, i, "dim %u appears in two factors", x->sym[k]);
    }
    int unchecked = (x->flags & IFG_EXPR_UNCHECKED) != 0;
    if (unchecked ? (x->coef || x->offset) : (x->coef < 1 || x->coef > DIM_LIMIT || x->offset < -DIM_LIMIT ||
                                              x->offset > DIM_LIMIT))
        return DFAIL(IFG_SEC_EXPRS, i, "coef %" PRId64 " and offset %" PRId64 " must be %s", x->coef, x->offset,
                     unchecked ? "0 in an unchecked expression" : "in [1, 2^40] and [-2^40, 2^40]");
    for (uint32_t k = 56; k < r->sec[IFG_SEC_EXPRS].entry_size && r->strict; k++)
        if (e[k]) return DFAIL(IFG_SEC_EXPRS, i, "byte %u after the entry's fields must be zero", k);
    return INFER_OK;
}

/* A 1.0 file: one `batch` dim and its expression are ready; ifg_dim_ref_ok counts them in at the first -1. */
infer_status ifg_decode_dyn_dims(const ifg_reader *r, ifg_file *f, infer_error *err) {
    uint64_t n_dims = r->sec[IFG_SEC_DIMS].present ? r->sec[IFG_SEC_DIMS].count : 0;
    uint64_t n_exprs = r->sec[IFG_SEC_EXPRS].present ? r->sec[IFG_SEC_EXPRS].count : 0;
    if (n_dims > IFG_MAX_DYN_DIMS)
        return DFAIL(IFG_SEC_DIMS, 0, "%" PRIu64 " named dims, at most %d", n_dims, IFG_MAX_DYN_DIMS);
    if (r->sec[IFG_SEC_DIMS].present && n_dims == 0)
        return DFAIL(IFG_SEC_DIMS, 0, "the section is present but empty");
    if (n_exprs > (uint64_t)1 << 20) return DFAIL(IFG_SEC_EXPRS, 0, "%" PRIu64 " expressions, at most 2^20", n_exprs);
    f->exprs = calloc(n_exprs ? (size_t)n_exprs : 1, sizeof *f->exprs);
    if (!f->exprs) return infer_fail(err, INFER_ERR_MEMORY, "out of memory decoding %" PRIu64 " dim expressions", n_exprs);
    if (!r->sec[IFG_SEC_DIMS].present) {
        f->dyn_dims[0] = (ifg_dyn_dim){ "batch", 1, (int64_t)1 << 31, 1 };
        f->exprs[0] = (ifg_expr){ .coef = 1, .n_factors = 1, .power = { 1 } };
        return INFER_OK;
    }
    f->has_dims_section = 1;
    f->n_dyn_dims = (uint32_t)n_dims;
    for (uint32_t i = 0; i < f->n_dyn_dims; i++) INFER_TRY(decode_dim(r, f, i, err));
    f->n_exprs = (uint32_t)n_exprs;
    for (uint32_t i = 0; i < f->n_exprs; i++) INFER_TRY(decode_expr(r, f, i, err));
    return INFER_OK;
}

int ifg_dim_ref_ok(const ifg_reader *r, ifg_file *f, int64_t v, int d, int is_constant) {
    if (v >= 0) return 1;
    if (is_constant) return 0;
    if (!r->sec[IFG_SEC_DIMS].present) { /* 1.0: dims[0] == -1 is the batch */
        if (v != -1 || d != 0) return 0;
        f->n_dyn_dims = f->n_exprs = 1;
        return 1;
    }
    return v <= -2 && (uint64_t)IFG_EXPR_OF(v) < f->n_exprs;
}

/* An expression that is exactly one dim (coef 1, offset 0, power 1): the dim, else -1. */
static int plain_dim(const ifg_expr *x) {
    return !x->flags && x->n_factors == 1 && x->coef == 1 && x->offset == 0 && x->power[0] == 1 ? (int)x->sym[0] : -1;
}

/* Every dynamic dim of a graph input is a plain named dim, and every named dim is some input's. */
infer_status ifg_check_dyn_inputs(const ifg_reader *r, const ifg_file *f, infer_error *err) {
    if (!r->sec[IFG_SEC_DIMS].present) return INFER_OK; /* 1.0: a batch no input has is taken at max_batch */
    uint32_t bound = 0;
    for (uint32_t k = 0; k < f->n_inputs; k++) {
        const ifg_tensor *t = &f->tensors[f->inputs[k]];
        for (int d = 0; d < t->ndim; d++) {
            if (t->dims[d] >= 0) continue;
            int sym = plain_dim(&f->exprs[IFG_EXPR_OF(t->dims[d])]);
            if (sym < 0)
                return infer_fail(err, INFER_ERR_FORMAT, "input %u ('%.200s') dim %d is expression %" PRId64 "; an input's "
                                  "dynamic dims must each be one named dim", k, t->name, d, IFG_EXPR_OF(t->dims[d]));
            bound |= 1u << sym;
        }
    }
    for (uint32_t s = 0; s < f->n_dyn_dims; s++)
        if (!(bound >> s & 1))
            return infer_fail(err, INFER_ERR_FORMAT, "dynamic dim '%s' is not the size of any graph input's dim, so no run "
                              "could give it", f->dyn_dims[s].name);
    return INFER_OK;
}
