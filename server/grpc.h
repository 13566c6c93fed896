/* grpc.h — the KServe v2 gRPC front end (GRPCInferenceService), built in with `make GRPC=1`. */
#ifndef INFER_SERVER_GRPC_H
#define INFER_SERVER_GRPC_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct srv_grpc srv_grpc;

/* Listens on host:port (port 0: any free port), refusing messages over max_message bytes. Without gRPC in the build: NULL with SRV_UNAVAILABLE. */
srv_grpc *srv_grpc_start(srv_core *core, const char *host, int port, size_t max_message, srv_error *err);
int srv_grpc_port(const srv_grpc *grpc);
/* Stops the server once the RPCs in progress are answered. */
void srv_grpc_stop(srv_grpc *grpc);

#ifdef __cplusplus
}
#endif
#endif
