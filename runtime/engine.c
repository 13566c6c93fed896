/* engine.c — building an engine from a model (passes, shapes, memory plan, backend) and running it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "engine.h"
#include "../base/error.h"
#include "plugin.h"
#include "threadpool.h"
#include "../kernels/cpu/cpu_kernels.h"
#include "../kernels/cpu/cpu_features.h"
#include "../kernels/cpu/gemm_bf16.h"

double engine_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

int infer_cuda_available(void) {
    const backend_ops *cuda;
    char why[256];
    if (!plugin_cuda_driver_present() || plugin_load_cuda(NULL, &cuda, NULL) != INFER_OK) return 0;
    return !cuda->usable || cuda->usable(NULL, why, sizeof why);
}

void infer_engine_options_init(infer_engine_options *o) {
    memset(o, 0, sizeof *o);
    o->device = INFER_DEVICE_AUTO;
    o->precision = INFER_PRECISION_FP32;
    o->optimize = 1;
    o->cuda_graphs = 1;
    o->int8_chain = INFER_INT8_CHAIN_FULL;
    o->fuse_dw = 1;
    o->bf16_chain = 1;
}

infer_tensor engine_tensor_shape(const infer_engine *e, int t) {
    infer_tensor v;
    memset(&v, 0, sizeof v);
    v.dtype = e->graph.tensors[t].dtype;
    v.ndim = e->ndims[t];
    memcpy(v.dims, &e->dims[(size_t)t * INFER_MAX_DIMS], sizeof v.dims);
    return v;
}

void engine_node_views(const infer_engine *e, const ir_node *n, engine_view_fn view, const void *ctx,
                       infer_tensor *in, infer_tensor *out) {
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] == IR_NONE) memset(&in[k], 0, sizeof in[k]);
        else in[k] = view ? view(e, ctx, n->in[k]) : engine_tensor_shape(e, n->in[k]);
    }
    for (int k = 0; k < n->n_out; k++) out[k] = view ? view(e, ctx, n->out[k]) : engine_tensor_shape(e, n->out[k]);
}

static void release_file_pages(void *file, const void *data, uint64_t bytes) {
    ifg_release_range(file, data, bytes);
}

/* Picks the backend for the requested device; fills o->device with the one chosen. AUTO loads the CUDA
 * plugin (and with it cuDNN and cuBLAS) only when an NVIDIA driver is installed, and takes the CPU
 * silently when the plugin or a usable GPU is missing; CUDA says why it cannot be had. */
static infer_status choose_backend(infer_engine_options *o, const backend_ops **backend, infer_error *err) {
    if (o->precision == INFER_PRECISION_BF16 && o->device == INFER_DEVICE_CUDA)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "precision bf16 runs on the CPU only (--device cpu); CUDA "
                          "runs fp32, tf32 or fp16");
    if (o->precision == INFER_PRECISION_BF16) o->device = INFER_DEVICE_CPU; /* AUTO: the CPU */
    if (o->device == INFER_DEVICE_CUDA || (o->device == INFER_DEVICE_AUTO && plugin_cuda_driver_present())) {
        const backend_ops *cuda;
        char why[512] = "";
        infer_status s = plugin_load_cuda(o->cuda_plugin, &cuda, o->device == INFER_DEVICE_CUDA ? err : NULL);
        if (s == INFER_OK && (!cuda->usable || cuda->usable(o, why, sizeof why))) {
            o->device = INFER_DEVICE_CUDA;
            *backend = cuda;
            return INFER_OK;
        }
        if (o->device == INFER_DEVICE_CUDA) {
            if (s != INFER_OK) return infer_fail_context(err, "--device cuda");
            return infer_fail(err, INFER_ERR_NO_DEVICE, "--device cuda: no usable GPU: %s", why);
        }
    }
    o->device = INFER_DEVICE_CPU;
    if (o->precision != INFER_PRECISION_FP32 && o->precision != INFER_PRECISION_BF16)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "precision %s needs a CUDA device; the CPU backend runs fp32 "
                          "or bf16", infer_precision_name(o->precision));
    *backend = &cpu_backend_ops;
    return INFER_OK;
}

/* The instruction set of the CPU kernels: the one forced by opt.cpu_isa when this CPU runs it. */
static infer_status choose_cpu_isa(infer_engine *e, infer_error *err) {
    e->cpu_isa = cpu_isa_for_option(e->opt.cpu_isa);
    if (e->cpu_isa >= 0) return INFER_OK;
    if ((unsigned)e->opt.cpu_isa > INFER_CPU_ISA_AVX512)
        return infer_fail(err, INFER_ERR_ARGUMENT, "cpu_isa %d is not an instruction set (auto, scalar, avx2 or avx512)",
                          (int)e->opt.cpu_isa);
    return infer_fail(err, INFER_ERR_UNSUPPORTED, "cpu_isa %s: this CPU (or its OS) cannot run it; the best it runs is %s",
                      infer_cpu_isa_name(e->opt.cpu_isa), infer_cpu_isa_name((infer_cpu_isa)(cpu_detect_isa() + 1)));
}

/* A CPU engine at precision bf16: the BF16 kernels opt.cpu_bf16 asks for, when this CPU (at the chosen
 * instruction set) has them. */
static infer_status choose_cpu_bf16(infer_engine *e, infer_error *err) {
    e->cpu_bf16 = CPU_BF16_NONE;
    if (e->opt.precision != INFER_PRECISION_BF16) return INFER_OK;
    if ((unsigned)e->opt.cpu_bf16 > INFER_CPU_BF16_AMX)
        return infer_fail(err, INFER_ERR_ARGUMENT, "cpu_bf16 %d is not a BF16 kernel choice (auto, avx512 or amx)",
                          (int)e->opt.cpu_bf16);
    int features = cpu_detect_features(), mode = cpu_bf16_choose(e->cpu_isa, features, e->opt.cpu_bf16);
    if (mode < 0) {
        static const char *const wanted[] = { "AVX512-BF16 or AMX-BF16", "AVX512-BF16", "AMX-BF16" };
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "precision bf16 needs a CPU with %s and AVX-512; this one (cpu_isa "
                          "%s%s%s) has not", wanted[e->opt.cpu_bf16], infer_cpu_isa_name((infer_cpu_isa)(e->cpu_isa + 1)),
                          features & CPU_FEAT_AVX512_BF16 ? ", avx512-bf16" : "", features & CPU_FEAT_AMX_BF16 ? ", amx-bf16" : "");
    }
    e->cpu_bf16 = mode;
    return INFER_OK;
}

/* A model without named dims: its batch is input 0's static dim 0, and max_batch must agree. */
static infer_status resolve_static_batch(infer_engine *e, infer_error *err) {
    const ir_graph *g = &e->graph;
    int64_t static_batch = g->n_inputs && g->tensors[g->inputs[0]].ndim > 0 ? g->tensors[g->inputs[0]].dims[0] : 0;
    if (e->opt.max_batch > 0 && static_batch > 0 && e->opt.max_batch != static_batch)
        return infer_fail(err, INFER_ERR_ARGUMENT, "the model has a static batch of %lld; max_batch %d is not possible",
                          (long long)static_batch, e->opt.max_batch);
    if (e->opt.n_dim_max > 0)
        return infer_fail(err, INFER_ERR_ARGUMENT, "the model has no dynamic dims; a maximum for '%s' is not possible",
                          e->opt.dim_max[0].name ? e->opt.dim_max[0].name : "(null)");
    e->opt.max_batch = static_batch > 0 ? (int)static_batch : 1;
    return INFER_OK;
}

/* The maximum of every named dim: given by name in opt.dim_max (or, for `batch`, opt.max_batch), else
 * `batch` 1 and the others their example size; each within the range the file declares. */
static infer_status resolve_dims(infer_engine *e, infer_error *err) {
    const ir_graph *g = &e->graph;
    if (e->opt.max_batch < 0) return infer_fail(err, INFER_ERR_ARGUMENT, "max_batch must be >= 0, got %d", e->opt.max_batch);
    if (e->opt.n_dim_max < 0 || (e->opt.n_dim_max > 0 && !e->opt.dim_max))
        return infer_fail(err, INFER_ERR_ARGUMENT, "n_dim_max %d without dim_max", e->opt.n_dim_max);
    if (!g->n_syms) return resolve_static_batch(e, err);
    for (int k = 0; k < e->opt.n_dim_max; k++) {
        const char *name = e->opt.dim_max[k].name;
        int s = 0;
        while (s < g->n_syms && (!name || strcmp(name, g->syms[s].name))) s++;
        if (s == g->n_syms) {
            char known[256] = "";
            for (int t = 0, used = 0; t < g->n_syms && used < (int)sizeof known; t++)
                used += snprintf(known + used, sizeof known - (size_t)used, "%s%s", t ? ", " : "", g->syms[t].name);
            return infer_fail(err, INFER_ERR_ARGUMENT, "the model has no dynamic dim '%s' (its dims: %s)",
                              name ? name : "(null)", known);
        }
    }
    for (int s = 0; s < g->n_syms; s++) {
        const ir_sym *y = &g->syms[s];
        int is_batch = strcmp(y->name, "batch") == 0;
        int64_t max = is_batch ? (e->opt.max_batch > 0 ? e->opt.max_batch : 1) : y->example;
        for (int k = 0; k < e->opt.n_dim_max; k++) {
            if (strcmp(e->opt.dim_max[k].name, y->name)) continue;
            if (is_batch && e->opt.max_batch > 0 && e->opt.dim_max[k].max != e->opt.max_batch)
                return infer_fail(err, INFER_ERR_ARGUMENT, "max_batch %d and a maximum of %lld for 'batch' disagree",
                                  e->opt.max_batch, (long long)e->opt.dim_max[k].max);
            max = e->opt.dim_max[k].max;
        }
        if (max < y->min || max > y->max)
            return infer_fail(err, INFER_ERR_ARGUMENT, "a maximum of %lld for dim '%s' is outside its range %lld..%lld",
                              (long long)max, y->name, (long long)y->min, (long long)y->max);
        e->dim_max[s] = max;
        if (is_batch) {
            e->batch_dynamic = 1;
            e->opt.max_batch = (int)(max > INT32_MAX ? INT32_MAX : max);
        }
    }
    if (!e->batch_dynamic) e->opt.max_batch = 1;
    e->input_dims = malloc((size_t)(g->n_inputs ? g->n_inputs : 1) * INFER_MAX_DIMS * sizeof *e->input_dims);
    if (!e->input_dims) return infer_fail(err, INFER_ERR_MEMORY, "out of memory");
    for (int i = 0; i < g->n_inputs; i++)
        for (int d = 0; d < INFER_MAX_DIMS; d++) {
            const ir_tensor *t = &g->tensors[g->inputs[i]];
            int sym = d < t->ndim && t->dims[d] <= -2 ? ir_expr_plain_sym(g, IR_EXPR_OF(t->dims[d]))
                                                      : d < t->ndim && t->dims[d] == -1 ? 0 : -1;
            if (d < t->ndim && t->dims[d] < 0 && sym < 0)
                return infer_fail(err, INFER_ERR_FORMAT, "input %d '%s' dim %d is not one named dim", i, t->name, d);
            e->input_dims[i * INFER_MAX_DIMS + d] = sym;
        }
    return INFER_OK;
}

int64_t infer_engine_dim_max(const infer_engine *e, int index) {
    return e && index >= 0 && index < e->graph.n_syms ? e->dim_max[index] : 0;
}

static infer_status plan_memory(infer_engine *e, infer_error *err) {
    const ir_graph *g = &e->graph;
    size_t n = (size_t)g->n_tensors;
    e->tensor_bytes = calloc(n ? n : 1, sizeof *e->tensor_bytes);
    e->dims = calloc(n ? n * INFER_MAX_DIMS : 1, sizeof *e->dims);
    e->ndims = calloc(n ? n : 1, sizeof *e->ndims);
    e->layer_ms = calloc(g->n_nodes ? (size_t)g->n_nodes : 1, sizeof *e->layer_ms);
    e->layer_runs = calloc(g->n_nodes ? (size_t)g->n_nodes : 1, sizeof *e->layer_runs);
    if (!e->tensor_bytes || !e->dims || !e->ndims || !e->layer_ms || !e->layer_runs)
        return infer_fail(err, INFER_ERR_MEMORY, "out of memory planning the engine");
    int64_t at[IR_MAX_SYMS] = { e->opt.max_batch };
    if (g->n_syms) memcpy(at, e->dim_max, sizeof at);
    infer_status s = ir_infer_shapes_at(g, at, e->dims, e->ndims, err);
    if (s != INFER_OK) return s;
    memcpy(e->dim_cur, at, sizeof at);
    e->cur_batch = e->opt.max_batch;
    for (size_t t = 0; t < n; t++) {
        if (g->tensors[t].is_constant) continue;
        uint64_t bytes = infer_dtype_size(g->tensors[t].dtype);
        for (int d = 0; d < e->ndims[t]; d++) {
            uint64_t dim = (uint64_t)e->dims[t * INFER_MAX_DIMS + d];
            if (dim && bytes > UINT64_MAX / dim)
                return infer_fail(err, INFER_ERR_MEMORY, "tensor '%s' is too large", g->tensors[t].name);
            bytes *= dim;
        }
        e->tensor_bytes[t] = bytes;
    }
    return memplan_build(g, e->tensor_bytes, &e->plan, err);
}

/* The decoding passes ask the backend which encoded constants it runs as stored. */
static int backend_keeps_encoded(const ir_graph *g, int t, void *ctx) {
    const infer_engine *e = ctx;
    return e->backend->keeps_encoded(e, g, t);
}

infer_status infer_engine_create(const infer_model *model, const infer_engine_options *options, infer_engine **out,
                                 infer_error *err) {
    infer_error_clear(err);
    if (!model || !out) return infer_fail(err, INFER_ERR_ARGUMENT, "infer_engine_create: model and engine are required");
    *out = NULL;
    infer_engine *e = calloc(1, sizeof *e);
    if (!e) return infer_fail(err, INFER_ERR_MEMORY, "out of memory creating an engine");
    e->model = model;
    if (options) e->opt = *options;
    else infer_engine_options_init(&e->opt);
    if (e->opt.threads <= 0) e->opt.threads = cpu_online_cores();

    infer_status s = choose_cpu_isa(e, err);
    if (s == INFER_OK && (unsigned)e->opt.sparse > INFER_SPARSE_DENSE)
        s = infer_fail(err, INFER_ERR_ARGUMENT, "sparse %d is not a sparse-weight choice (auto, sparse or dense)",
                       (int)e->opt.sparse);
    if (s == INFER_OK && (unsigned)e->opt.winograd > INFER_WINOGRAD_ON)
        s = infer_fail(err, INFER_ERR_ARGUMENT, "winograd %d is not a Winograd choice (auto, off or on)",
                       (int)e->opt.winograd);
    if (s == INFER_OK && (unsigned)e->opt.int8_chain > INFER_INT8_CHAIN_FULL)
        s = infer_fail(err, INFER_ERR_ARGUMENT, "int8_chain %d is not a chain level (off, exact or full)",
                       (int)e->opt.int8_chain);
    if (s == INFER_OK) s = choose_backend(&e->opt, &e->backend, err);
    if (s == INFER_OK) s = choose_cpu_bf16(e, err);
    if (s == INFER_OK) s = ir_build(&model->file, &e->graph, err);
    if (s == INFER_OK) {
        e->graph.release_hint = release_file_pages;
        e->graph.release_ctx = (void *)&model->file;
    }
    ir_keep_encoded_fn keep = e->backend && e->backend->keeps_encoded ? backend_keeps_encoded : NULL;
    if (s == INFER_OK && !e->backend->sparse_weights) s = ir_densify_sparse_except(&e->graph, keep, e, err);
    if (s == INFER_OK && !e->backend->int8_weights) s = ir_dequantize_int8_except(&e->graph, keep, e, err);
    if (s == INFER_OK && e->opt.optimize) s = ir_optimize(&e->graph, &e->backend->caps, err);
    if (s == INFER_OK) s = resolve_dims(e, err);
    if (s == INFER_OK) s = plan_memory(e, err);
    if (s == INFER_OK) s = e->backend->create(e, err);
    if (s != INFER_OK) {
        infer_engine_destroy(e);
        return s;
    }
    *out = e;
    return INFER_OK;
}

void infer_engine_destroy(infer_engine *e) {
    if (!e) return;
    if (e->backend && e->state) e->backend->destroy(e);
    memplan_free(&e->plan);
    ir_free(&e->graph);
    free(e->tensor_bytes);
    free(e->dims);
    free(e->ndims);
    free(e->input_dims);
    free(e->layer_ms);
    free(e->layer_runs);
    free(e);
}

static void format_shape(char *buf, size_t n, const int64_t *dims, int ndim, infer_dtype dtype) {
    size_t used = (size_t)snprintf(buf, n, "%s [", infer_dtype_name(dtype));
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
}

/* A named dim of input i's dim d got `size`: within min..engine max and the same as in earlier inputs. */
static infer_status check_named_dim(const infer_engine *e, int i, int d, int sym, int64_t size, int *first,
                                    int64_t *values, infer_error *err) {
    const ir_sym *y = &e->graph.syms[sym];
    const char *name = e->graph.tensors[e->graph.inputs[i]].name;
    if (size < y->min || size > e->dim_max[sym])
        return infer_fail(err, INFER_ERR_SHAPE, "input %d '%s' dim %d (%s) is %lld, outside %lld..%lld%s", i, name, d,
                          y->name, (long long)size, (long long)y->min, (long long)e->dim_max[sym],
                          e->dim_max[sym] < y->max && size > e->dim_max[sym]
                              ? " (the engine's maximum; a larger one can be asked for at engine creation)" : "");
    if (first[sym] >= 0 && values[sym] != size)
        return infer_fail(err, INFER_ERR_SHAPE, "input %d '%s' dim %d (%s) is %lld, but input %d '%s' gives %s = %lld",
                          i, name, d, y->name, (long long)size, first[sym] / INFER_MAX_DIMS,
                          e->graph.tensors[e->graph.inputs[first[sym] / INFER_MAX_DIMS]].name, y->name,
                          (long long)values[sym]);
    if (first[sym] < 0) first[sym] = i * INFER_MAX_DIMS + d;
    values[sym] = size;
    return INFER_OK;
}

/* Checks the caller's inputs against the model; fills the named dims' values they carry. */
static infer_status check_inputs(const infer_engine *e, const infer_tensor *in, int n, int64_t *values,
                                 infer_error *err) {
    const ir_graph *g = &e->graph;
    if (n != g->n_inputs)
        return infer_fail(err, INFER_ERR_ARGUMENT, "the model takes %d input(s), %d given", g->n_inputs, n);
    int first[IR_MAX_SYMS];
    for (int s = 0; s < IR_MAX_SYMS; s++) first[s] = -1;
    values[0] = e->opt.max_batch;
    for (int s = 0; s < g->n_syms; s++) values[s] = e->dim_max[s]; /* a 1.0 batch no input has */
    for (int i = 0; i < n; i++) {
        const ir_tensor *t = &g->tensors[g->inputs[i]];
        if (in[i].ndim < 0 || in[i].ndim > INFER_MAX_DIMS || infer_dtype_size(in[i].dtype) == 0)
            return infer_fail(err, INFER_ERR_ARGUMENT, "input %d '%s': ndim %d or dtype %d is not valid", i, t->name,
                              in[i].ndim, (int)in[i].dtype);
        if (!in[i].data) return infer_fail(err, INFER_ERR_ARGUMENT, "input %d '%s': no data", i, t->name);
        int dtype_ok = in[i].dtype == t->dtype;
        int ok = dtype_ok && in[i].ndim == t->ndim;
        for (int d = 0; ok && d < t->ndim; d++) {
            int sym = g->n_syms ? e->input_dims[i * INFER_MAX_DIMS + d] : -1;
            if (sym >= 0) INFER_TRY(check_named_dim(e, i, d, sym, in[i].dims[d], first, values, err));
            else if (in[i].dims[d] != t->dims[d]) ok = 0;
        }
        if (!ok) {
            /* the shapes are formatted for the message only, off the path of a run that goes well */
            char want[160] = "", got[160];
            size_t used = (size_t)snprintf(want, sizeof want, "%s [", infer_dtype_name(t->dtype));
            for (int d = 0; d < t->ndim && used < sizeof want; d++) {
                char one[64];
                ir_dim_text(g, t->dims[d], one, sizeof one);
                used += (size_t)snprintf(want + used, sizeof want - used, "%s%s", d ? "," : "", one);
            }
            if (used < sizeof want) snprintf(want + used, sizeof want - used, "]");
            format_shape(got, sizeof got, in[i].dims, in[i].ndim, in[i].dtype);
            if (!dtype_ok)
                return infer_fail(err, INFER_ERR_DTYPE, "input %d '%s': expected %s, given %s", i, t->name, want, got);
            return infer_fail(err, INFER_ERR_SHAPE, "input %d '%s': expected %s, given %s", i, t->name, want, got);
        }
    }
    return INFER_OK;
}

infer_status infer_engine_run(infer_engine *e, const infer_tensor *inputs, int n_inputs, infer_tensor *outputs,
                              int n_outputs, infer_error *err) {
    infer_error_clear(err);
    if (!e || (n_inputs && !inputs) || !outputs)
        return infer_fail(err, INFER_ERR_ARGUMENT, "infer_engine_run: engine, inputs and outputs are required");
    if (n_outputs != e->graph.n_outputs)
        return infer_fail(err, INFER_ERR_ARGUMENT, "the model has %d output(s), room for %d given", e->graph.n_outputs,
                          n_outputs);
    int64_t values[IR_MAX_SYMS] = { 0 };
    infer_status s = check_inputs(e, inputs, n_inputs, values, err);
    if (s != INFER_OK) return s;
    if (memcmp(values, e->dim_cur, sizeof values) != 0) {
        s = ir_infer_shapes_at(&e->graph, values, e->dims, e->ndims, err);
        if (s != INFER_OK) {
            memset(e->dim_cur, 0, sizeof e->dim_cur); /* the shapes are half-updated: recompute them next run */
            e->cur_batch = 0;
            return s;
        }
        memcpy(e->dim_cur, values, sizeof values);
        e->cur_batch = e->opt.max_batch;
        for (int k = 0; k < e->graph.n_syms; k++)
            if (!strcmp(e->graph.syms[k].name, "batch")) e->cur_batch = values[k];
    }
    double t0 = engine_now_ms();
    s = e->backend->run(e, inputs, outputs, err);
    if (s == INFER_OK) {
        e->last_run_ms = engine_now_ms() - t0;
        e->runs++;
    }
    return s;
}

infer_status infer_engine_stats_get(const infer_engine *e, infer_engine_stats *st) {
    if (!e || !st) return INFER_ERR_ARGUMENT;
    memset(st, 0, sizeof *st);
    st->device = e->opt.device;
    st->precision = e->opt.precision;
    st->max_batch = e->opt.max_batch;
    st->threads = e->opt.threads;
    st->nodes = e->graph.n_nodes;
    st->arena_bytes = e->plan.arena_bytes;
    st->naive_bytes = e->plan.naive_bytes;
    for (int t = 0; t < e->graph.n_tensors; t++)
        if (e->graph.tensors[t].is_constant && ir_consumer_count(&e->graph, t) > 0)
            st->weight_bytes += e->graph.tensors[t].nbytes;
    st->last_compute_ms = e->last_run_ms; /* the CPU backend: all of the run is compute */
    if (e->backend->stats) e->backend->stats(e, st);
    return INFER_OK;
}

const char *infer_engine_warnings(const infer_engine *e) {
    if (!e || !e->backend || !e->backend->warnings || !e->state) return "";
    const char *w = e->backend->warnings(e);
    return w ? w : "";
}

int infer_engine_layer_count(const infer_engine *e) { return e ? e->graph.n_nodes : 0; }

infer_status infer_engine_layer(const infer_engine *e, int i, infer_layer_info *info) {
    if (!e || !info || i < 0 || i >= e->graph.n_nodes) return INFER_ERR_ARGUMENT;
    const ir_node *n = &e->graph.nodes[i];
    memset(info, 0, sizeof *info);
    info->name = n->name;
    info->op = op_name(n->op);
    const char *dev = e->backend->node_device ? e->backend->node_device(e, i) : NULL;
    info->device = dev ? dev : infer_device_name(e->backend->device);
    info->weights = e->backend->node_weights ? e->backend->node_weights(e, i) : NULL;
    infer_tensor shape = engine_tensor_shape(e, n->out[0]);
    info->ndim = shape.ndim;
    memcpy(info->dims, shape.dims, sizeof info->dims);
    info->total_ms = e->layer_ms[i];
    info->runs = e->layer_runs[i];
    return INFER_OK;
}

void infer_engine_profile_reset(infer_engine *e) {
    if (!e) return;
    memset(e->layer_ms, 0, sizeof *e->layer_ms * (size_t)(e->graph.n_nodes ? e->graph.n_nodes : 1));
    memset(e->layer_runs, 0, sizeof *e->layer_runs * (size_t)(e->graph.n_nodes ? e->graph.n_nodes : 1));
}
