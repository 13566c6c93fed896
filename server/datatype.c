/* datatype.c — KServe v2 datatype names for infer dtypes, and the names infer does not take. */
#include <string.h>
#include "core.h"

static const char *const datatype_names[INFER_DTYPE_COUNT] = {
    [INFER_F32] = "FP32", [INFER_F16] = "FP16", [INFER_BF16] = "BF16", [INFER_I8] = "INT8",
    [INFER_U8] = "UINT8", [INFER_I32] = "INT32", [INFER_I64] = "INT64", [INFER_BOOL] = "BOOL",
};

const char *srv_datatype_name(infer_dtype dtype) {
    return dtype > 0 && dtype < INFER_DTYPE_COUNT && datatype_names[dtype] ? datatype_names[dtype] : "?";
}

infer_dtype srv_datatype_parse(const char *name, srv_error *err) {
    for (int d = 1; d < INFER_DTYPE_COUNT; d++)
        if (datatype_names[d] && !strcmp(datatype_names[d], name)) return (infer_dtype)d;
    static const char *const known[] = {"UINT16", "UINT32", "UINT64", "INT16", "FP64", "BYTES"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strcmp(known[i], name)) {
            srv_fail(err, SRV_INVALID, "datatype %s is not supported (infer takes FP32, FP16, BF16, INT64, INT32, INT8, "
                                       "UINT8, BOOL)", name);
            return 0;
        }
    srv_fail(err, SRV_INVALID, "unknown datatype '%.64s'", name);
    return 0;
}
