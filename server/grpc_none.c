/* grpc_none.c — the gRPC front end's stand-in for builds without gRPC (make GRPC=0). */
#include "grpc.h"

srv_grpc *srv_grpc_start(srv_core *core, const char *host, int port, size_t max_message, srv_error *err) {
    srv_fail(err, SRV_UNAVAILABLE, "gRPC is not built into this binary (build with make GRPC=1); HTTP only");
    return NULL;
}

int srv_grpc_port(const srv_grpc *grpc) { return -1; }

void srv_grpc_stop(srv_grpc *grpc) {}
