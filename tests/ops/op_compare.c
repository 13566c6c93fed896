/* op_compare.c — outputs of the op test table's runs: copies of the reference's, and the error of a backend's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "op_compare.h"

int64_t elements(const infer_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

size_t bytes_of(const infer_tensor *t) { return (size_t)elements(t) * infer_dtype_size(t->dtype); }

static float f16_to_f32(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
    float v = exp == 0 ? ldexpf((float)mant, -24) : exp == 31 ? (mant ? NAN : INFINITY) : ldexpf((float)(mant | 1024), exp - 25);
    return sign ? -v : v;
}

int is_float(infer_dtype d) { return d == INFER_F32 || d == INFER_F16; }

static double value_at(const infer_tensor *t, int64_t i) {
    return t->dtype == INFER_F32 ? (double)((const float *)t->data)[i] : (double)f16_to_f32(((const uint16_t *)t->data)[i]);
}

static void shape_text(const infer_tensor *t, char *buf, size_t n) {
    int len = snprintf(buf, n, "%s[", infer_dtype_name(t->dtype));
    for (int i = 0; i < t->ndim && len < (int)n; i++) len += snprintf(buf + len, n - (size_t)len, "%s%lld", i ? "," : "", (long long)t->dims[i]);
    if (len < (int)n) snprintf(buf + len, n - (size_t)len, "]");
}

/* The error of got against want: relative L2 for floats, the count of differing elements for the others.
 * INFINITY (with why) when dtype or shape differ or a value is not a number where the reference has one. */
double output_error(const infer_tensor *got, const infer_tensor *want, char *why, size_t n) {
    int same = got->dtype == want->dtype && got->ndim == want->ndim;
    for (int i = 0; same && i < want->ndim; i++) same = got->dims[i] == want->dims[i];
    if (!same) {
        char g[96], w[96];
        shape_text(got, g, sizeof g);
        shape_text(want, w, sizeof w);
        snprintf(why, n, "gave %s, the reference %s", g, w);
        return INFINITY;
    }
    int64_t count = elements(want);
    if (!is_float(want->dtype)) {
        size_t size = infer_dtype_size(want->dtype);
        int64_t differ = 0, first = -1;
        for (int64_t i = 0; i < count; i++)
            if (memcmp((const char *)got->data + i * size, (const char *)want->data + i * size, size)) {
                differ++;
                if (first < 0) first = i;
            }
        if (differ) snprintf(why, n, "%lld of %lld elements differ (first at %lld)", (long long)differ, (long long)count,
                             (long long)first);
        return (double)differ;
    }
    double num = 0, den = 0;
    for (int64_t i = 0; i < count; i++) {
        double a = value_at(got, i), b = value_at(want, i);
        if (isnan(a) && !isnan(b)) {
            snprintf(why, n, "element %lld is NaN, the reference %g", (long long)i, b);
            return INFINITY;
        }
        num += (a - b) * (a - b);
        den += b * b;
    }
    double e = sqrt(num) / (den > 1e-30 ? sqrt(den) : 1.0);
    if (isnan(e)) e = INFINITY;
    snprintf(why, n, "relative L2 error %.3g", e);
    return e;
}

int finite_outputs(const outputs_copy *ref) {
    for (int k = 0; k < ref->n; k++) {
        if (!is_float(ref->t[k].dtype)) continue;
        for (int64_t i = 0; i < elements(&ref->t[k]); i++)
            if (!isfinite(value_at(&ref->t[k], i))) return 0;
    }
    return 1;
}

void outputs_free(outputs_copy *c) {
    for (int k = 0; k < c->n; k++) free(c->t[k].data);
    c->n = 0;
}

int copy_outputs(const infer_tensor *out, int n, outputs_copy *c) {
    c->n = 0;
    for (int k = 0; k < n; k++) {
        c->t[k] = out[k];
        c->t[k].data = malloc(bytes_of(&out[k]) ? bytes_of(&out[k]) : 1);
        if (!c->t[k].data) return -1;
        memcpy(c->t[k].data, out[k].data, bytes_of(&out[k]));
        c->n++;
    }
    return 0;
}
