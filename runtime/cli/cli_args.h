/* cli_args.h — the parsed command lines of `infer run`, `infer info` and `infer bench`. Parsing opens no file
 * and runs nothing, so that it can be tested (and fuzzed) on its own. */
#ifndef INFER_CLI_ARGS_H
#define INFER_CLI_ARGS_H

#include "infer.h"

#define CLI_MAX_FILES 64   /* run: input and output files */
#define CLI_MAX_TENSORS 64 /* bench: input files */
#define CLI_MAX_BATCHES 16 /* bench: batch sizes */

/* What a cli_parse_* returns besides EXIT_OK and EXIT_USAGE (whose reason it has printed): the command's
 * --help was asked for; nothing was printed. */
enum { CLI_HELP = 3 };

/* --max NAME=N options: per named dim, the largest size an engine is built for. */
#define CLI_MAX_DIM_MAXES 16
typedef struct {
    infer_dim_max v[CLI_MAX_DIM_MAXES]; /* names point into names */
    char names[CLI_MAX_DIM_MAXES][64];
    int n, given;                       /* v[0, given) came from --max; run adds the input files' sizes */
} cli_dim_maxes;

/* When s is --max, parses val (NAME=N) into m and returns 1 (the caller steps past val), or prints a usage
 * error and returns -1; returns 0 for any other argument. */
int cli_dim_max_option(const char *command, const char *s, const char *val, cli_dim_maxes *m);

/* The options run and bench share: an engine option (cli_engine_option) or --max; returns 1 with *i past what it
 * used, -1 after a usage error, 0 for any other argument. */
int cli_engine_or_max_option(const char *command, int argc, char **argv, int *i, infer_engine_options *opt,
                             cli_dim_maxes *m);

typedef struct {
    const char *model;
    const char *inputs[CLI_MAX_FILES];
    int n_inputs;
    const char *outputs[CLI_MAX_FILES];
    int n_outputs;
    const char *out_dir;
    int print;
    cli_dim_maxes maxes;
    infer_engine_options opt;
} run_args;

typedef struct {
    const char *model;
    int batch, list_layers;
    cli_dim_maxes maxes;
    infer_engine_options opt;
} info_args;

typedef struct {
    const char *model, *json;
    const char *inputs[CLI_MAX_TENSORS];
    int n_inputs, batches[CLI_MAX_BATCHES], n_batches;
    int warmup_ms, iterations, profile, id_range;
    double duration_s;
    cli_dim_maxes maxes;                 /* --max; the random inputs take each named dim at the engine's max */
    char shape_dim[64];                  /* --shape NAME=a,b,c: one engine per size of NAME */
    int shapes[CLI_MAX_BATCHES], n_shapes;
    infer_engine_options opt;
} bench_args;

/* argv[0] is the command's name ("run", ...), as cmd_run and the others receive it. */
int cli_parse_run(int argc, char **argv, run_args *a);
int cli_parse_info(int argc, char **argv, info_args *a);
int cli_parse_bench(int argc, char **argv, bench_args *a);

#endif
