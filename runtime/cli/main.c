/* main.c — ./infer: dispatches to the run, info, bench, serve and quantize commands. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "cmd_quantize.h"

static void usage(FILE *f) {
    fprintf(f,
            "infer %s — run converted PyTorch models (.ifg) on the CPU or a CUDA GPU\n\n"
            "usage: infer <command> [options]\n\n"
            "commands:\n"
            "  run MODEL.ifg IN.npy... (-o OUT.npy... | --out-dir DIR)   run the model on input files\n"
            "  info MODEL.ifg                                            describe a model and its memory plan\n"
            "  bench MODEL.ifg                                           measure latency and throughput\n"
            "  quantize MODEL.ifg -o OUT.ifg --calib IN.npy...           INT8 weights (and calibrated inputs)\n"
            "  serve (REPO | MODEL.ifg)                                  serve models over KServe v2 HTTP and gRPC\n\n"
            "'infer <command> --help' describes each command.\n"
            "exit codes: 0 success, 1 runtime failure, 2 usage or bad input\n",
            INFER_VERSION);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("infer %s\n", INFER_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "quantize")) return cmd_quantize(argc - 1, argv + 1);
    fprintf(stderr, "infer: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
