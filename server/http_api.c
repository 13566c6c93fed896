/* http_api.c — the KServe v2 metadata answers (server and model) and the JSON reply helpers. */
#include <stdlib.h>
#include <string.h>
#include "http.h"

void srv_reply_json(srv_reply *reply, int status, json_t *value) {
    reply->status = status;
    reply->body = value ? json_dumps(value, JSON_COMPACT | JSON_REAL_PRECISION(9)) /* float32 round-trips */ : NULL;
    reply->length = reply->body ? strlen(reply->body) : 0;
    reply->json_length = -1;
    json_decref(value);
    if (!reply->body) { /* only when out of memory */
        reply->status = 500;
        reply->body = strdup("{\"error\":\"out of memory\"}");
        reply->length = reply->body ? strlen(reply->body) : 0;
    }
}

void srv_reply_error(srv_reply *reply, srv_code code, const char *message) {
    srv_reply_json(reply, srv_http_status(code), json_pack("{s:s}", "error", message));
}

void srv_api_server_metadata(srv_core *core, srv_reply *reply) {
    (void)core;
    srv_reply_json(reply, 200, json_pack("{s:s,s:s,s:[s]}", "name", "infer", "version", INFER_VERSION, "extensions",
                                         "binary_tensor_data"));
}

static json_t *tensor_metadata(const infer_tensor_info *info) {
    json_t *shape = json_array();
    for (int d = 0; d < info->ndim; d++) json_array_append_new(shape, json_integer(info->dims[d] < 0 ? -1 : info->dims[d]));
    return json_pack("{s:s,s:s,s:o}", "name", info->name, "datatype", srv_datatype_name(info->dtype), "shape", shape);
}

void srv_api_model_metadata(srv_core *core, srv_model *m, srv_reply *reply) {
    const char *versions[64];
    int n = srv_core_versions(core, srv_model_name(m), versions, 64);
    json_t *vs = json_array(), *inputs = json_array(), *outputs = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(vs, json_string(versions[i]));
    const infer_model *model = srv_model_handle(m);
    for (int i = 0; i < infer_model_input_count(model); i++) {
        infer_tensor_info info;
        srv_model_input(m, i, &info);
        json_array_append_new(inputs, tensor_metadata(&info));
    }
    for (int i = 0; i < infer_model_output_count(model); i++) {
        infer_tensor_info info;
        srv_model_output(m, i, &info);
        json_array_append_new(outputs, tensor_metadata(&info));
    }
    srv_reply_json(reply, 200, json_pack("{s:s,s:o,s:s,s:o,s:o}", "name", srv_model_name(m), "versions", vs, "platform",
                                         "infer_ifg", "inputs", inputs, "outputs", outputs));
}
