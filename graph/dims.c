/* dims.c — named dynamic dims of the IR: evaluating the dim expressions declared shapes refer to, and their text. */
#include <stdio.h>
#include "graph.h"

int64_t ir_expr_value(const ir_graph *g, int e, const int64_t *values) {
    if (e < 0 || e >= g->n_exprs || g->exprs[e].unchecked) return -1;
    const ir_expr *x = &g->exprs[e];
    int64_t v = x->coef;
    for (int k = 0; k < x->n_factors; k++)
        for (int p = 0; p < x->power[k]; p++)
            if (__builtin_mul_overflow(v, values[x->sym[k]], &v)) return -1;
    if (__builtin_add_overflow(v, x->offset, &v) || v < 0) return -1;
    return v;
}

int64_t ir_dim_value(const ir_graph *g, int64_t declared, const int64_t *values) {
    if (declared >= 0) return declared;
    if (declared == -1) return values[0]; /* the batch of a graph without named dims, or of a 1.0 file */
    return ir_expr_value(g, IR_EXPR_OF(declared), values);
}

int ir_expr_plain_sym(const ir_graph *g, int e) {
    if (e < 0 || e >= g->n_exprs) return -1;
    const ir_expr *x = &g->exprs[e];
    return !x->unchecked && x->n_factors == 1 && x->coef == 1 && x->offset == 0 && x->power[0] == 1 ? x->sym[0] : -1;
}

void ir_dim_text(const ir_graph *g, int64_t declared, char *buf, size_t n) {
    if (!n) return;
    buf[0] = 0;
    if (declared >= -1) {
        snprintf(buf, n, "%lld", (long long)declared);
        return;
    }
    if (IR_EXPR_OF(declared) >= g->n_exprs) {
        snprintf(buf, n, "?");
        return;
    }
    const ir_expr *x = &g->exprs[IR_EXPR_OF(declared)];
    size_t used = 0;
    if (x->unchecked) used += (size_t)snprintf(buf, n, "~");
    if (x->coef != 1 && !x->unchecked && used < n) used += (size_t)snprintf(buf + used, n - used, "%lld*", (long long)x->coef);
    for (int k = 0; k < x->n_factors && used < n; k++) {
        const char *name = x->sym[k] >= 0 && x->sym[k] < g->n_syms ? g->syms[x->sym[k]].name : "?";
        used += (size_t)snprintf(buf + used, n - used, "%s%s", k ? "*" : "", name);
        if (x->power[k] > 1 && used < n) used += (size_t)snprintf(buf + used, n - used, "^%d", x->power[k]);
    }
    if (x->offset && used < n) snprintf(buf + used, n - used, "%+lld", (long long)x->offset);
}
