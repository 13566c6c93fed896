/* http.c — the HTTP daemon: one thread per connection (libmicrohttpd), bounded bodies, routing of the v2 paths. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "http.h"

struct srv_http {
    struct MHD_Daemon *daemon;
    srv_core *core;
    size_t max_body;
    int port;
};

typedef struct {
    char *data;
    size_t length, capacity;
    int too_big;
} upload;

static enum MHD_Result send_reply(srv_http *h, struct MHD_Connection *c, srv_reply *reply, const char *content_type) {
    struct MHD_Response *response = MHD_create_response_from_buffer(reply->length, reply->body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(reply->body);
        return MHD_NO;
    }
    if (reply->json_length >= 0) {
        char n[32];
        snprintf(n, sizeof n, "%ld", reply->json_length);
        MHD_add_response_header(response, "Inference-Header-Content-Length", n);
        content_type = "application/octet-stream";
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type ? content_type : "application/json");
    if (srv_core_stopping(h->core)) MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)reply->status, response);
    MHD_destroy_response(response);
    return rc;
}

static void reply_flag(srv_reply *reply, int status, const char *key, int value) {
    srv_reply_json(reply, status, json_pack("{s:b}", key, value));
}

/* /v2/models/NAME[/versions/V][/ready|/infer] */
static void route_model(srv_http *h, struct MHD_Connection *c, const char *path, const char *method, upload *u,
                        srv_reply *reply) {
    char buf[1024], *seg[6];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf, *save = NULL, *t; n < 6 && (t = strtok_r(s, "/", &save)); s = NULL) seg[n++] = t;
    const char *version = NULL, *action = NULL;
    int at = 1;
    if (n >= 3 && !strcmp(seg[1], "versions")) {
        version = seg[2];
        at = 3;
    }
    if (n > at) action = seg[at];
    if (n == 0 || n > at + 1 || (action && strcmp(action, "ready") && strcmp(action, "infer")))
        return srv_reply_error(reply, SRV_NOT_FOUND, "unknown path");
    int post = !strcmp(method, "POST");
    if (action && !strcmp(action, "infer") ? !post : post) {
        reply->status = 405;
        return srv_reply_json(reply, 405, json_pack("{s:s}", "error", post ? "this path takes GET" : "infer takes POST"));
    }
    srv_error err;
    srv_model *m = srv_core_find(h->core, seg[0], version, &err);
    if (!m) return srv_reply_error(reply, err.code, err.message);
    if (!action) return srv_api_model_metadata(h->core, m, reply);
    if (!strcmp(action, "ready")) {
        int ready = srv_model_ready(m);
        return srv_reply_json(reply, ready ? 200 : 503, json_pack("{s:s,s:b}", "name", seg[0], "ready", ready));
    }
    const char *encoding = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    if (encoding && strcmp(encoding, "identity"))
        return srv_reply_error(reply, SRV_INVALID, "Content-Encoding is not supported; send the body uncompressed");
    const char *header_length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Inference-Header-Content-Length");
    srv_api_infer(h->core, m, u->data ? u->data : "", u->length, header_length, reply);
}

static const char *route(srv_http *h, struct MHD_Connection *c, const char *url, const char *method, upload *u,
                         srv_reply *reply) {
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (!strncmp(url, "/v2/models/", 11)) {
        route_model(h, c, url + 11, method, u, reply);
        return NULL;
    }
    if (!get) {
        srv_reply_json(reply, 405, json_pack("{s:s}", "error", "this path takes GET"));
        return NULL;
    }
    if (!strcmp(url, "/v2/health/live")) reply_flag(reply, 200, "live", 1);
    else if (!strcmp(url, "/v2/health/ready")) reply_flag(reply, srv_core_ready(h->core) ? 200 : 503, "ready", srv_core_ready(h->core));
    else if (!strcmp(url, "/v2") || !strcmp(url, "/v2/")) srv_api_server_metadata(h->core, reply);
    else if (!strcmp(url, "/metrics")) {
        reply->status = 200;
        reply->json_length = -1;
        reply->body = srv_core_metrics(h->core, &reply->length);
        if (reply->body) return "text/plain; version=0.0.4";
        srv_reply_error(reply, SRV_INTERNAL, "out of memory");
    } else srv_reply_error(reply, SRV_NOT_FOUND, "unknown path");
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *data_size, void **state) {
    srv_http *h = cls;
    upload *u = *state;
    if (!u) { /* headers only so far */
        if (!(u = calloc(1, sizeof *u))) return MHD_NO;
        *state = u;
        const char *declared = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (declared && strtoull(declared, NULL, 10) > h->max_body) u->too_big = 1;
        return MHD_YES;
    }
    if (*data_size) { /* a piece of the body; an oversized one is read and dropped, then refused */
        if (!u->too_big && u->length + *data_size > h->max_body) u->too_big = 1;
        if (!u->too_big && u->length + *data_size > u->capacity) {
            size_t capacity = u->capacity ? u->capacity : 65536;
            while (capacity < u->length + *data_size) capacity *= 2;
            char *grown = realloc(u->data, capacity);
            if (!grown) u->too_big = 1;
            else u->data = grown, u->capacity = capacity;
        }
        if (!u->too_big) memcpy(u->data + u->length, data, *data_size), u->length += *data_size;
        *data_size = 0;
        return MHD_YES;
    }
    srv_reply reply = {0, NULL, 0, -1};
    const char *content_type = NULL;
    if (u->too_big) {
        char message[128];
        snprintf(message, sizeof message, "the request body is larger than the server takes (%zu bytes)", h->max_body);
        srv_reply_json(&reply, 413, json_pack("{s:s}", "error", message));
    } else {
        content_type = route(h, c, url, method, u, &reply);
    }
    return send_reply(h, c, &reply, content_type);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode code) {
    upload *u = *state;
    if (u) free(u->data);
    free(u);
    *state = NULL;
}

srv_http *srv_http_start(srv_core *core, const char *host, int port, size_t max_body, srv_error *err) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        srv_fail(err, SRV_INVALID, "--host takes an IPv4 address, not '%s'", host);
        return NULL;
    }
    srv_http *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->core = core;
    h->max_body = max_body;
    h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
                                     MHD_USE_AUTO,
                                 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                                 MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!h->daemon) {
        srv_fail(err, SRV_INTERNAL, "cannot listen on %s:%d (in use, or not an address of this machine)", host, port);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    return h;
}

int srv_http_port(const srv_http *h) { return h->port; }

void srv_http_quiesce(srv_http *h, int linger_ms) {
    MHD_socket fd = MHD_quiesce_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    /* Requests already on open connections get their (503) answers; then those connections close. */
    for (int waited = 0; waited < linger_ms; waited += 10) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0) break;
        usleep(10000);
    }
}

void srv_http_stop(srv_http *h) {
    if (!h) return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
