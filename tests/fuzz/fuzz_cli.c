/* fuzz_cli.c — libFuzzer target of the CLI's argument parsing: the bytes are the arguments after "infer",
 * separated by NUL bytes; the first names the command, whose parser runs (it opens and runs nothing). Run it
 * with -close_fd_mask=2: the parsers print their usage errors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../runtime/cli/cli.h"
#include "../../runtime/cli/cli_args.h"
#include "../../runtime/cli/cmd_quantize.h"

#define MAX_ARGS 256

const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=1"; }

/* An accepted command line holds what its command needs, within the bounds of its arrays. */
static void check_run(const run_args *a) {
    if (!a->model || a->n_inputs < 0 || a->n_inputs > CLI_MAX_FILES || a->n_outputs < 0 ||
        a->n_outputs > CLI_MAX_FILES || (!a->n_outputs && !a->out_dir && !a->print) || (a->n_outputs && a->out_dir))
        abort();
    for (int i = 0; i < a->n_inputs; i++) (void)strlen(a->inputs[i]);
    for (int i = 0; i < a->n_outputs; i++) (void)strlen(a->outputs[i]);
}

static void check_bench(const bench_args *a) {
    if (!a->model || a->n_inputs < 0 || a->n_inputs > CLI_MAX_TENSORS || a->n_batches < 0 ||
        a->n_batches > CLI_MAX_BATCHES || a->iterations < 1 || !(a->duration_s >= 0) || a->warmup_ms < 0)
        abort();
    for (int i = 0; i < a->n_batches; i++)
        if (a->batches[i] < 1) abort();
    for (int i = 0; i < a->n_inputs; i++) (void)strlen(a->inputs[i]);
}

static void check_quantize(const quantize_args *a) {
    if (!a->model || !a->out || a->n_calib < 0 || a->n_calib > QCLI_MAX_CALIB || a->n_keep < 0 ||
        a->n_keep > QCLI_MAX_KEEP || a->n_batches < 0 || a->n_batches > a->n_calib || !(a->max_error >= 0) ||
        a->threads < 0 || (a->mode == 0 && !a->n_batches))
        abort();
    for (int i = 0; i < a->n_calib; i++) /* files, never options; each in a batch that was counted */
        if (a->calib[i][0] == '-' || a->calib_batch[i] < 0 || a->calib_batch[i] >= a->n_batches) abort();
    for (int i = 0; i < a->n_keep; i++) (void)strlen(a->keep[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (size_t at = 0; at <= size && argc < MAX_ARGS; at += strlen(text + at) + 1) argv[argc++] = text + at;
    argv[argc] = NULL;
    const char *cmd = argv[0];
    if (!strcmp(cmd, "run")) {
        run_args a;
        if (cli_parse_run(argc, argv, &a) == EXIT_OK) check_run(&a);
    } else if (!strcmp(cmd, "info")) {
        info_args a;
        if (cli_parse_info(argc, argv, &a) == EXIT_OK && (!a.model || a.batch < 1)) abort();
    } else if (!strcmp(cmd, "bench")) {
        bench_args a;
        if (cli_parse_bench(argc, argv, &a) == EXIT_OK) check_bench(&a);
    } else if (!strcmp(cmd, "quantize")) {
        quantize_args a;
        if (cli_parse_quantize(argc, argv, &a) == EXIT_OK) check_quantize(&a);
    }
    free(text);
    return 0;
}
