/* http_infer.c — POST .../infer: the JSON request (with Triton's binary tensor data extension) in, the result out. */
#include <stdlib.h>
#include <string.h>
#include "http.h"

#define MAX_TENSORS 64

typedef struct {
    json_t *root;
    const char *id;
    int binary_all;     /* parameters.binary_data_output */
    int64_t timeout_us; /* parameters.timeout */
    srv_input inputs[MAX_TENSORS];
    void *owned[MAX_TENSORS]; /* buffers decoded from JSON data */
    int n_inputs;
    const char *outputs[MAX_TENSORS];
    int binary[MAX_TENSORS]; /* per requested output: -1 unset, 0 JSON, 1 binary */
    int n_outputs;
    size_t body_length;
} infer_request;

static srv_code parse_shape(json_t *shape, srv_input *in, int64_t *count, srv_error *err) {
    if (!json_is_array(shape) || json_array_size(shape) > INFER_MAX_DIMS)
        return srv_fail(err, SRV_INVALID, "input '%s': shape must be an array of at most %d sizes", in->name, INFER_MAX_DIMS);
    in->ndim = (int)json_array_size(shape);
    *count = 1;
    for (int d = 0; d < in->ndim; d++) {
        json_t *v = json_array_get(shape, (size_t)d);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > ((int64_t)1 << 40))
            return srv_fail(err, SRV_INVALID, "input '%s': shape[%d] is not a size", in->name, d);
        in->dims[d] = json_integer_value(v);
        *count *= in->dims[d];
        if (*count > ((int64_t)1 << 40)) return srv_fail(err, SRV_INVALID, "input '%s': shape too large", in->name);
    }
    return SRV_OK;
}

static srv_code parse_input(infer_request *r, json_t *obj, const char *binary, size_t binary_len, size_t *offset,
                            srv_error *err) {
    srv_input *in = &r->inputs[r->n_inputs];
    const char *datatype = NULL;
    json_t *shape = NULL, *data = NULL, *params = NULL;
    json_error_t jerr;
    if (json_unpack_ex(obj, &jerr, 0, "{s:s,s:s,s:o,s?o,s?o}", "name", &in->name, "datatype", &datatype, "shape", &shape,
                       "data", &data, "parameters", &params))
        return srv_fail(err, SRV_INVALID, "input %d: %s", r->n_inputs, jerr.text);
    r->n_inputs++;
    in->dtype = srv_datatype_parse(datatype, err);
    if (!in->dtype) return SRV_INVALID;
    int64_t count = 0;
    if (parse_shape(shape, in, &count, err) != SRV_OK) return SRV_INVALID;
    json_t *size = params ? json_object_get(params, "binary_data_size") : NULL;
    if (size) {
        if (!json_is_integer(size) || json_integer_value(size) < 0 || (uint64_t)json_integer_value(size) > binary_len - *offset)
            return srv_fail(err, SRV_INVALID, "input '%s': binary_data_size does not fit the %zu bytes after the JSON",
                            in->name, binary_len);
        in->data = binary + *offset;
        in->bytes = (size_t)json_integer_value(size);
        *offset += in->bytes;
        if (data) return srv_fail(err, SRV_INVALID, "input '%s' has both data and binary_data_size", in->name);
        return SRV_OK;
    }
    if (!data) return srv_fail(err, SRV_INVALID, "input '%s' has neither data nor binary_data_size", in->name);
    if ((uint64_t)count > r->body_length) /* every JSON element takes a byte at least */
        return srv_fail(err, SRV_INVALID, "input '%s': the shape holds more elements than the body has bytes", in->name);
    void *buffer;
    if (srv_json_to_tensor(data, in->dtype, count, &buffer, err) != SRV_OK) {
        char message[sizeof err->message];
        snprintf(message, sizeof message, "%s", err->message);
        return srv_fail(err, SRV_INVALID, "input '%s': %s", in->name, message);
    }
    r->owned[r->n_inputs - 1] = buffer;
    in->data = buffer;
    in->bytes = (size_t)count * infer_dtype_size(in->dtype);
    return SRV_OK;
}

static srv_code parse_output(infer_request *r, json_t *obj, srv_error *err) {
    json_t *params = NULL;
    json_error_t jerr;
    int k = r->n_outputs;
    if (json_unpack_ex(obj, &jerr, 0, "{s:s,s?o}", "name", &r->outputs[k], "parameters", &params))
        return srv_fail(err, SRV_INVALID, "output %d: %s", k, jerr.text);
    r->binary[k] = -1;
    r->n_outputs++;
    if (params && json_object_get(params, "classification"))
        return srv_fail(err, SRV_INVALID, "output '%s': the classification extension is not supported", r->outputs[k]);
    json_t *binary = params ? json_object_get(params, "binary_data") : NULL;
    if (binary && !json_is_boolean(binary))
        return srv_fail(err, SRV_INVALID, "output '%s': binary_data must be true or false", r->outputs[k]);
    if (binary) r->binary[k] = json_is_true(binary);
    return SRV_OK;
}

static srv_code parse_request(infer_request *r, const char *body, size_t length, const char *header_length,
                              srv_error *err) {
    size_t json_len = length;
    r->body_length = length;
    if (header_length) {
        char *end;
        long long v = strtoll(header_length, &end, 10);
        if (*end || end == header_length || v < 0 || (unsigned long long)v > length)
            return srv_fail(err, SRV_INVALID, "Inference-Header-Content-Length %.32s does not fit the %zu-byte body",
                            header_length, length);
        json_len = (size_t)v;
    }
    json_error_t jerr;
    r->root = json_loadb(body, json_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r->root) return srv_fail(err, SRV_INVALID, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    json_t *id = NULL, *params = NULL, *inputs = NULL, *outputs = NULL;
    if (json_unpack_ex(r->root, &jerr, 0, "{s?o,s?o,s:o,s?o}", "id", &id, "parameters", &params, "inputs", &inputs,
                       "outputs", &outputs))
        return srv_fail(err, SRV_INVALID, "request: %s", jerr.text);
    if (id && !json_is_string(id)) return srv_fail(err, SRV_INVALID, "id must be a string");
    r->id = id ? json_string_value(id) : NULL;
    if (params && !json_is_object(params)) return srv_fail(err, SRV_INVALID, "parameters must be an object");
    json_t *v;
    if (params && (v = json_object_get(params, "binary_data_output"))) r->binary_all = json_is_true(v);
    if (params && (v = json_object_get(params, "timeout"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return srv_fail(err, SRV_INVALID, "parameters.timeout must be microseconds (an integer)");
        r->timeout_us = json_integer_value(v);
    }
    if (!json_is_array(inputs) || !json_array_size(inputs) || json_array_size(inputs) > MAX_TENSORS)
        return srv_fail(err, SRV_INVALID, "inputs must be an array of 1 to %d tensors", MAX_TENSORS);
    if (outputs && (!json_is_array(outputs) || json_array_size(outputs) > MAX_TENSORS))
        return srv_fail(err, SRV_INVALID, "outputs must be an array of at most %d tensors", MAX_TENSORS);
    size_t offset = 0, i;
    json_array_foreach(inputs, i, v) {
        if (parse_input(r, v, body + json_len, length - json_len, &offset, err) != SRV_OK) return SRV_INVALID;
    }
    if (offset != length - json_len)
        return srv_fail(err, SRV_INVALID, "%zu bytes of binary data are not claimed by any input", length - json_len - offset);
    if (outputs) json_array_foreach(outputs, i, v) {
        if (parse_output(r, v, err) != SRV_OK) return SRV_INVALID;
    }
    return SRV_OK;
}

/* ---- the reply ------------------------------------------------------------------ */

static void reply_result(srv_reply *reply, const infer_request *r, const srv_result *res) {
    json_t *outputs = json_array();
    size_t binary_bytes = 0;
    int binary[MAX_TENSORS];
    for (int k = 0; k < res->n_outputs && k < MAX_TENSORS; k++) {
        const srv_output *o = &res->outputs[k];
        binary[k] = r->n_outputs && r->binary[k] >= 0 ? r->binary[k] : r->binary_all;
        json_t *shape = json_array();
        for (int d = 0; d < o->ndim; d++) json_array_append_new(shape, json_integer(o->dims[d]));
        json_t *t = json_pack("{s:s,s:s,s:o}", "name", o->name, "datatype", srv_datatype_name(o->dtype), "shape", shape);
        int64_t count = o->bytes / (infer_dtype_size(o->dtype) ? infer_dtype_size(o->dtype) : 1);
        if (binary[k]) {
            json_object_set_new(t, "parameters", json_pack("{s:I}", "binary_data_size", (json_int_t)o->bytes));
            binary_bytes += o->bytes;
        } else {
            json_object_set_new(t, "data", srv_tensor_to_json(o->data, o->dtype, count));
        }
        json_array_append_new(outputs, t);
    }
    json_t *root = json_pack("{s:s,s:s,s:o}", "model_name", res->model_name, "model_version", res->model_version,
                             "outputs", outputs);
    if (r->id) json_object_set_new(root, "id", json_string(r->id));
    srv_reply_json(reply, 200, root);
    if (!binary_bytes || reply->status != 200) return;
    char *body = realloc(reply->body, reply->length + binary_bytes + 1);
    if (!body) {
        free(reply->body);
        reply->body = NULL;
        srv_reply_error(reply, SRV_INTERNAL, "out of memory for the reply");
        return;
    }
    reply->body = body;
    reply->json_length = (long)reply->length;
    for (int k = 0; k < res->n_outputs && k < MAX_TENSORS; k++)
        if (binary[k]) {
            memcpy(body + reply->length, res->outputs[k].data, res->outputs[k].bytes);
            reply->length += res->outputs[k].bytes;
        }
}

void srv_api_infer(srv_core *core, srv_model *m, const char *body, size_t length, const char *header_length,
                   srv_reply *reply) {
    infer_request *r = calloc(1, sizeof *r);
    if (!r) return srv_reply_error(reply, SRV_INTERNAL, "out of memory");
    srv_error err;
    srv_code code = parse_request(r, body, length, header_length, &err);
    srv_result res = {0};
    if (code == SRV_OK)
        code = srv_core_infer(core, m, r->inputs, r->n_inputs, r->outputs, r->n_outputs, r->timeout_us, &res, &err);
    else srv_core_count_failure(m, code);
    if (code == SRV_OK) reply_result(reply, r, &res);
    else srv_reply_error(reply, code, err.message);
    srv_result_free(&res);
    for (int i = 0; i < r->n_inputs; i++) free(r->owned[i]);
    json_decref(r->root);
    free(r);
}
