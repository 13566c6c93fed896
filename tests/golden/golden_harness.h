/* golden_harness.h — what the golden checks (golden_check, bf16_check, int8_check) share: the PASS/FAIL lines
 * and their counts, relative L2 and top-1 agreement, seeded inputs, engine outputs copied, the manifest loop. */
#ifndef INFER_GOLDEN_HARNESS_H
#define INFER_GOLDEN_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "infer.h"

#define GOLDEN_MAX_IO 16
#define GOLDEN_EXIT_SKIP 77 /* nothing ran: no such device or kernel here */

/* Tensors owned by the harness (malloc'ed data). */
typedef struct {
    infer_tensor t[GOLDEN_MAX_IO];
    int n;
} golden_tensors;

void golden_tensors_free(golden_tensors *ts);

/* The width of the "what" column of the result lines (each program keeps its own layout). */
void golden_set_what_width(int width);

/* Counts one result and prints "[PASS] model what detail" or "[FAIL] ...". */
void golden_result(int ok, const char *model, const char *what, const char *detail);

/* Prints "N passed, M failed"; the exit status: 0 when something passed and nothing failed, else 1. */
int golden_summary(void);

/* Relative L2 error of a against b (b's dtype and element count: f32, i64 or u8); INFINITY on NaN. */
double golden_rel_l2(const infer_tensor *a, const infer_tensor *b);

/* Share of the rows of the last dim (f32) whose largest element is at the same place in a and b. */
double golden_top1_agreement(const infer_tensor *a, const infer_tensor *b);

/* xorshift64 draws in (0, 1), from a caller-owned state. */
double golden_uniform(uint64_t *rng);
double golden_normal(uint64_t *rng); /* N(0, 1) by Box-Muller */

typedef enum {
    GOLDEN_UNIFORM_PM2, /* floats uniform in [-2, 2) */
    GOLDEN_NORMAL,      /* floats N(0, 1): gen.py draws torch.randn */
} golden_dist;

/* Seeded inputs of m with `rows` rows: floats by dist, token ids uniform in [0, 1000) (gen.py's vocabulary).
 * 0 when an input is neither f32 nor i64 or there are too many (what was made is in `in`, to free). */
int golden_make_inputs(const infer_model *m, int rows, golden_dist dist, uint64_t *rng, golden_tensors *in);

/* Runs m once on an engine made with opt and copies its outputs into out; 0 and why on failure. */
int golden_run_copy(const infer_model *m, const infer_engine_options *opt, const infer_tensor *in, int n_in,
                    golden_tensors *out, char *why, size_t why_size);

/* Loads DIR/NAME.ifg (the path is left in path); NULL after a failed "load" result. */
infer_model *golden_load(const char *dir, const char *name, char *path, size_t path_size);

/* Opens DIR/manifest.txt; NULL after a message naming prog when it cannot. */
FILE *golden_open_manifest(const char *prog, const char *dir);

/* Calls fn for every "NAME N_IN N_OUT" line of the manifest, then closes it. */
typedef void (*golden_model_fn)(void *arg, const char *dir, const char *name, int n_in, int n_out);
void golden_for_each_model(FILE *manifest, const char *dir, golden_model_fn fn, void *arg);

#endif
