/* cpu_choose.h — the CPU backend's per-layer choice between the forms of a sparse weight's kernel (sparse or
 * densified), by infer_engine_options.sparse: forced, or both timed at engine build at the planned shapes. */
#ifndef INFER_CPU_CHOOSE_H
#define INFER_CPU_CHOOSE_H

#include "engine.h"
#include "../kernels/cpu/cpu_kernels.h"

/* Node `node`'s kernel among the forms that follow `first` in its op's list (first->sparse_form set):
 * sets *chosen and writes what was timed into note ("" when nothing was: forced, or only one form fits).
 * ctx: the engine's pool, threads, isa and scratch (its workspace and prepacked are not used). Auto times both
 * at the planned (largest) shapes. Fails only when the op lists no densified form; when the sparse form does
 * not fit, the densified one is chosen. */
infer_status cpu_choose_form(const infer_engine *e, const cpu_ctx *ctx, int node, const cpu_kernel *first,
                             const cpu_kernel **chosen, char *note, size_t note_size, infer_error *err);

#endif
