/* cmd_serve.c — `infer serve`: options, start-up (listen, build engines, ready), and graceful shutdown on SIGTERM. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "../runtime/cli/cli.h"
#include "grpc.h"
#include "http.h"
#include "repository.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: infer serve (REPO | MODEL.ifg) [options]\n\n"
            "Serves models over the KServe v2 / Open Inference Protocol (HTTP/REST and gRPC).\n"
            "REPO holds REPO/<model>/<version>/model.ifg and an optional REPO/<model>/config of key=value lines\n"
            "(max_batch, max_queue_delay_us, max_queue, instances, threads, timeout_ms, device, precision) that\n"
            "override the options below for that model. The newest version serves unless a request names one.\n\n"
            "  --host ADDR               IPv4 address to listen on (default 0.0.0.0)\n"
            "  --http-port N             HTTP port (default 8000; 0: any free port, logged)\n"
            "  --grpc-port N             gRPC port (default 8001; 0: any free port; -1: no gRPC)\n"
            "  --device auto|cpu|cuda    where models run (default auto)\n"
            "  --precision fp32|tf32|fp16|bf16  (bf16: the CPU, with AVX512-BF16 or AMX-BF16)\n"
            "  --threads N               CPU threads per model, split between its instances (default: all cores)\n"
            "  --instances N             engines per model version, run concurrently (default 1)\n"
            "  --max-batch N             rows merged into one engine run (default 8; 1: no batching)\n"
            "  --max-queue-delay-us N    how long the oldest request waits for a batch to fill (default 2000)\n"
            "  --max-queue N             queued requests per model beyond which requests get 503 (default 256)\n"
            "  --request-timeout-ms N    longest time a request may wait in the queue (default 60000)\n"
            "  --max-body-mb N           largest request body (default 64)\n"
            "  --drain-timeout-s N       on SIGTERM, how long to wait for queued requests (default 30)\n"
            "  --no-graph                no CUDA Graph capture\n"
            "  -h, --help                this help\n\n"
            "SIGTERM or SIGINT: stop accepting, answer what is queued, exit 0.\n");
}

typedef struct {
    const char *repo, *host;
    int http_port, grpc_port, max_body_mb, drain_s;
    srv_model_config config;
} serve_args;

static int int_option(const char *name, const char *val, int min, int max, int *out) {
    if (cli_parse_int(val, min, max, out)) return cli_usage_error("serve", "%s takes a number from %d to %d", name, min, max);
    return EXIT_OK;
}

static int parse(int argc, char **argv, serve_args *a) {
    infer_engine_options opt;
    infer_engine_options_init(&opt);
    *a = (serve_args){.host = "0.0.0.0", .http_port = 8000, .grpc_port = 8001, .max_body_mb = 64, .drain_s = 30};
    a->config = (srv_model_config){.max_batch = 8, .max_queue_delay_us = 2000, .max_queue = 256, .instances = 1,
                                   .timeout_ms = 60000};
    static const struct { const char *name; int min, max; size_t offset; } ints[] = {
        {"--http-port", 0, 65535, offsetof(serve_args, http_port)},
        {"--grpc-port", -1, 65535, offsetof(serve_args, grpc_port)},
        {"--max-body-mb", 1, 4096, offsetof(serve_args, max_body_mb)},
        {"--drain-timeout-s", 0, 3600, offsetof(serve_args, drain_s)},
        {"--instances", 1, 64, offsetof(serve_args, config.instances)},
        {"--max-batch", 1, 4096, offsetof(serve_args, config.max_batch)},
        {"--max-queue-delay-us", 0, 10000000, offsetof(serve_args, config.max_queue_delay_us)},
        {"--max-queue", 1, 1000000, offsetof(serve_args, config.max_queue)},
        {"--request-timeout-ms", 1, 3600000, offsetof(serve_args, config.timeout_ms)},
    };
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int engine_opt = cli_engine_option("serve", argc, argv, &i, &opt);
        if (engine_opt < 0) return EXIT_USAGE;
        if (engine_opt > 0) continue;
        size_t k = 0;
        while (k < sizeof ints / sizeof *ints && strcmp(s, ints[k].name)) k++;
        if (k < sizeof ints / sizeof *ints) {
            if (int_option(s, i + 1 < argc ? argv[++i] : NULL, ints[k].min, ints[k].max, (int *)((char *)a + ints[k].offset)))
                return EXIT_USAGE;
        } else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            help(stdout);
            exit(EXIT_OK);
        } else if (!strcmp(s, "--host")) {
            if (i + 1 >= argc) return cli_usage_error("serve", "--host needs an address");
            a->host = argv[++i];
        } else if (s[0] == '-') {
            return cli_usage_error("serve", "unknown option '%s'", s);
        } else if (!a->repo) {
            a->repo = s;
        } else {
            return cli_usage_error("serve", "one model repository or model file, not '%s' too", s);
        }
    }
    if (!a->repo) return cli_usage_error("serve", "no model repository or model file given");
    a->config.device = opt.device;
    a->config.precision = opt.precision;
    a->config.threads = opt.threads;
    a->config.cuda_graphs = opt.cuda_graphs;
    return EXIT_OK;
}

static void log_models(srv_core *core) {
    for (int i = 0; i < srv_core_model_count(core); i++) {
        srv_model *m = srv_core_model_at(core, i);
        fprintf(stderr, "infer serve: model '%s' version %s ready (max batch %d)\n", srv_model_name(m),
                srv_model_version(m), srv_model_max_batch(m));
    }
}

int cmd_serve(int argc, char **argv) {
    serve_args a;
    int rc = parse(argc, argv, &a);
    if (rc != EXIT_OK) return rc;
    /* Signals go to the main thread only, which waits for them; every thread started later inherits the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    srv_error err;
    srv_core *core = srv_core_create();
    if (!core) return fprintf(stderr, "infer serve: out of memory\n"), EXIT_RUNTIME;
    if (srv_repository_load(core, a.repo, &a.config, &err) != SRV_OK) {
        fprintf(stderr, "infer serve: %s\n", err.message);
        srv_core_destroy(core);
        return EXIT_USAGE;
    }
    srv_http *http = srv_http_start(core, a.host, a.http_port, (size_t)a.max_body_mb << 20, &err);
    srv_grpc *grpc = NULL;
    if (http) fprintf(stderr, "infer serve: HTTP on %s:%d\n", a.host, srv_http_port(http));
    if (http && a.grpc_port >= 0) {
        grpc = srv_grpc_start(core, a.host, a.grpc_port, (size_t)a.max_body_mb << 20, &err);
        if (grpc) fprintf(stderr, "infer serve: gRPC on %s:%d\n", a.host, srv_grpc_port(grpc));
        else if (err.code == SRV_UNAVAILABLE) fprintf(stderr, "infer serve: %s\n", err.message); /* not built in */
    }
    if (!http || (a.grpc_port >= 0 && !grpc && err.code != SRV_UNAVAILABLE)) {
        fprintf(stderr, "infer serve: %s\n", err.message);
        srv_http_stop(http);
        srv_core_destroy(core);
        return EXIT_RUNTIME;
    }
    rc = EXIT_OK;
    if (srv_core_build(core, &err) != SRV_OK) { /* live but never ready; exits so that an orchestrator restarts it */
        fprintf(stderr, "infer serve: %s\n", err.message);
        rc = EXIT_RUNTIME;
    } else {
        log_models(core);
        fprintf(stderr, "infer serve: ready\n");
        int sig = 0;
        sigwait(&stop, &sig);
        fprintf(stderr, "infer serve: %s: draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    }
    /* New requests get 503 while the queues drain (clean answers, not resets); then the listeners close. */
    srv_core_drain(core, a.drain_s * 1000);
    srv_http_quiesce(http, 1000);
    srv_grpc_stop(grpc);
    srv_http_stop(http);
    srv_core_destroy(core);
    if (rc == EXIT_OK) fprintf(stderr, "infer serve: stopped\n");
    return rc;
}
