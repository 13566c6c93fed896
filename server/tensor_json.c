/* tensor_json.c — tensor data as JSON numbers and booleans, in every datatype the server takes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "../base/half.h" /* half and bf16 conversions */

typedef struct {
    infer_dtype dtype;
    int64_t count, at;
    char *out;
    srv_error *err;
} filler;

static srv_code put(filler *f, json_t *v) {
    if (f->at >= f->count)
        return srv_fail(f->err, SRV_INVALID, "more data elements than the shape holds (%lld)", (long long)f->count);
    size_t size = infer_dtype_size(f->dtype);
    char *dst = f->out + (size_t)f->at * size;
    int64_t at = f->at++;
    if (f->dtype == INFER_BOOL) {
        if (!json_is_boolean(v)) return srv_fail(f->err, SRV_INVALID, "data element %lld: BOOL takes true or false", (long long)at);
        *(uint8_t *)dst = json_is_true(v);
        return SRV_OK;
    }
    if (f->dtype == INFER_F32 || f->dtype == INFER_F16 || f->dtype == INFER_BF16) {
        if (!json_is_number(v)) return srv_fail(f->err, SRV_INVALID, "data element %lld is not a number", (long long)at);
        float x = (float)json_number_value(v);
        uint16_t h = f->dtype == INFER_F16 ? half_from_float(x) : bf16_from_float(x);
        if (f->dtype == INFER_F32) memcpy(dst, &x, 4);
        else memcpy(dst, &h, 2);
        return SRV_OK;
    }
    if (!json_is_integer(v)) return srv_fail(f->err, SRV_INVALID, "data element %lld is not an integer", (long long)at);
    json_int_t x = json_integer_value(v);
    static const struct { infer_dtype dtype; long long lo, hi; } range[] = {
        {INFER_I8, -128, 127}, {INFER_U8, 0, 255}, {INFER_I32, INT32_MIN, INT32_MAX}, {INFER_I64, INT64_MIN, INT64_MAX}};
    for (size_t r = 0; r < sizeof range / sizeof *range; r++)
        if (range[r].dtype == f->dtype && (x < range[r].lo || x > range[r].hi))
            return srv_fail(f->err, SRV_INVALID, "data element %lld (%lld) is out of range for %s", (long long)at,
                            (long long)x, srv_datatype_name(f->dtype));
    int8_t i8 = (int8_t)x;
    uint8_t u8 = (uint8_t)x;
    int32_t i32 = (int32_t)x;
    int64_t i64 = (int64_t)x;
    memcpy(dst, f->dtype == INFER_I8 ? (void *)&i8 : f->dtype == INFER_U8 ? (void *)&u8 : f->dtype == INFER_I32 ? (void *)&i32 : (void *)&i64,
           size);
    return SRV_OK;
}

static srv_code fill(filler *f, json_t *v, int depth) {
    if (!json_is_array(v)) return put(f, v);
    if (depth > INFER_MAX_DIMS) return srv_fail(f->err, SRV_INVALID, "data is nested deeper than %d", INFER_MAX_DIMS);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        srv_code code = fill(f, e, depth + 1);
        if (code != SRV_OK) return code;
    }
    return SRV_OK;
}

srv_code srv_json_to_tensor(json_t *data, infer_dtype dtype, int64_t count, void **buffer, srv_error *err) {
    *buffer = NULL;
    if (!json_is_array(data)) return srv_fail(err, SRV_INVALID, "data must be an array");
    filler f = {dtype, count, 0, malloc((size_t)count * infer_dtype_size(dtype) + 1), err};
    if (!f.out) return srv_fail(err, SRV_INVALID, "no memory for %lld elements", (long long)count);
    srv_code code = fill(&f, data, 0);
    if (code == SRV_OK && f.at != count)
        code = srv_fail(err, SRV_INVALID, "%lld data elements given, the shape holds %lld", (long long)f.at, (long long)count);
    if (code != SRV_OK) free(f.out);
    else *buffer = f.out;
    return code;
}

static json_t *element(const char *p, infer_dtype dtype) {
    switch (dtype) {
    case INFER_F32: { float x; memcpy(&x, p, 4); return isfinite(x) ? json_real(x) : json_null(); }
    case INFER_F16: case INFER_BF16: {
        uint16_t h;
        memcpy(&h, p, 2);
        float x = dtype == INFER_F16 ? half_to_float(h) : bf16_to_float(h);
        return isfinite(x) ? json_real(x) : json_null();
    }
    case INFER_I8: return json_integer(*(const int8_t *)p);
    case INFER_U8: return json_integer(*(const uint8_t *)p);
    case INFER_I32: { int32_t x; memcpy(&x, p, 4); return json_integer(x); }
    case INFER_I64: { int64_t x; memcpy(&x, p, 8); return json_integer(x); }
    case INFER_BOOL: return json_boolean(*(const uint8_t *)p);
    default: return json_null();
    }
}

json_t *srv_tensor_to_json(const void *data, infer_dtype dtype, int64_t count) {
    json_t *array = json_array();
    size_t size = infer_dtype_size(dtype);
    for (int64_t i = 0; array && i < count; i++) json_array_append_new(array, element((const char *)data + (size_t)i * size, dtype));
    return array;
}
