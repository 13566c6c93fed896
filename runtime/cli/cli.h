/* cli.h — shared helpers of the ./infer command-line tool (the only code that prints or exits). */
#ifndef INFER_CLI_H
#define INFER_CLI_H

#include <stdio.h>
#include "infer.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

int cmd_run(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_serve(int argc, char **argv); /* server/cmd_serve.c */

/* Exit code for a failed library call: 2 for bad input or usage, 1 for failures while running. */
int cli_exit_code(infer_status status);
/* Prints "infer: <message>" for err and returns its exit code. */
int cli_report(const infer_error *err);
/* Prints a usage error and returns EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...);

/* Parses --device / --precision values; 0 on success. */
int cli_parse_device(const char *s, infer_device *device);
int cli_parse_precision(const char *s, infer_precision *precision);
/* Parses a positive int; 0 on success. */
int cli_parse_int(const char *s, int min, int max, int *out);
/* The engine options run and bench share (--device, --precision, --threads, --no-graph): when argv[*i] is
 * one, sets it in opt, steps *i past its value and returns 1, or prints a usage error and returns -1;
 * returns 0 for any other argument. */
int cli_engine_option(const char *command, int argc, char **argv, int *i, infer_engine_options *opt);

void cli_print_shape(FILE *f, const int64_t *dims, int ndim);
/* A model input's or output's shape with its dynamic dims by name: [batch,seq,768]. */
void cli_print_model_shape(FILE *f, const infer_model *m, const infer_tensor_info *t);
const char *cli_human_bytes(uint64_t bytes, char *buf, size_t n);

#endif
