/* cmd_bench.c — `infer bench`: placeholder until the benchmark command lands. */
#include "cli.h"

int cmd_bench(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "infer bench: not built yet\n");
    return EXIT_RUNTIME;
}
