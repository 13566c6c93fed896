/* http.h — the KServe v2 HTTP/REST front end (libmicrohttpd). */
#ifndef INFER_SERVER_HTTP_H
#define INFER_SERVER_HTTP_H

#include <jansson.h>
#include "core.h"

typedef struct srv_http srv_http;

/* Listens on host:port (port 0: any free port) until srv_http_stop. */
srv_http *srv_http_start(srv_core *core, const char *host, int port, size_t max_body, srv_error *err);
int srv_http_port(const srv_http *http);
/* Stops accepting connections; waits up to linger_ms for open connections to finish (answers carry
 * "Connection: close" once the core is stopping). */
void srv_http_quiesce(srv_http *http, int linger_ms);
void srv_http_stop(srv_http *http);

/* An answer before it is sent: status, body (malloc'ed) and, for binary tensor data, the JSON part's length. */
typedef struct {
    int status;
    char *body;
    size_t length;
    long json_length; /* -1: the body is all JSON */
} srv_reply;

void srv_reply_json(srv_reply *reply, int status, json_t *value); /* takes the reference */
void srv_reply_error(srv_reply *reply, srv_code code, const char *message);

/* The endpoints (http_api.c, http_infer.c). */
void srv_api_server_metadata(srv_core *core, srv_reply *reply);
void srv_api_model_metadata(srv_core *core, srv_model *m, srv_reply *reply);
void srv_api_infer(srv_core *core, srv_model *m, const char *body, size_t length, const char *header_length,
                   srv_reply *reply);

/* Tensor data as JSON (tensor_json.c): a nested or flat array of count elements into a new buffer. */
srv_code srv_json_to_tensor(json_t *data, infer_dtype dtype, int64_t count, void **buffer, srv_error *err);
json_t *srv_tensor_to_json(const void *data, infer_dtype dtype, int64_t count);

#endif
