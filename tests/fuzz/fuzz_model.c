/* fuzz_model.c — libFuzzer target of the model path: bytes -> load -> engine build -> one run at the smallest
 * shapes. Its mutator re-stamps the sizes and CRCs of most mutants, so that they reach the tables, the graph
 * and the kernels, and sometimes leaves them as they are, so that the checks of sizes and CRCs stay covered. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "infer.h"
#include "../../loaders/ifg_internal.h"

/* Models whose declared activations take more than this at batch 1 are not built: what they allocate and the
 * time their kernels take is what the file asks for, not a bug (1 MiB of activations with 16 KiB of weights
 * runs in well under a second). */
#define MAX_ACTIVATION_BYTES ((uint64_t)1 << 20)
#define MAX_RUN_BYTES ((uint64_t)16 << 20)

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1:detect_leaks=1"; }

/* ---- the file's layout ------------------------------------------------------------------------- */

static uint64_t rd64(const uint8_t *d, size_t size, uint64_t at) { return at + 8 <= size ? ifg_get_u64(d + at) : 0; }
static uint32_t rd32(const uint8_t *d, size_t size, uint64_t at) { return at + 4 <= size ? ifg_get_u32(d + at) : 0; }

/* Section kind's offset, entry size and count as the table says (0 when absent or outside the file). */
typedef struct {
    uint64_t offset, entry, count;
} section;

static section find_section(const uint8_t *d, size_t size, uint32_t kind) {
    section s = { 0, 0, 0 };
    uint32_t n = rd32(d, size, IFG_H_SECTION_COUNT);
    uint64_t table = rd64(d, size, IFG_H_SECTION_TABLE);
    for (uint32_t i = 0; i < n && i < IFG_MAX_SECTIONS; i++) {
        uint64_t e = table + (uint64_t)i * IFG_SECTION_ENTRY_SIZE;
        if (table > size || e + IFG_SECTION_ENTRY_SIZE > size) break;
        if (ifg_get_u32(d + e + IFG_S_KIND) != kind) continue;
        s.entry = ifg_get_u32(d + e + IFG_S_ENTRY_SIZE);
        s.offset = ifg_get_u64(d + e + IFG_S_OFFSET);
        s.count = ifg_get_u64(d + e + IFG_S_COUNT);
        if (!s.entry || s.offset > size || s.count > (size - s.offset) / s.entry) s.count = 0;
        return s;
    }
    return s;
}

/* Makes the header's file and data sizes, every section's size and both CRCs agree with the bytes. */
static void fix_up(uint8_t *d, size_t size) {
    if (size < IFG_HEADER_SIZE) return;
    ifg_put_u64(d + IFG_H_FILE_SIZE, size);
    uint64_t data_offset = ifg_get_u64(d + IFG_H_DATA_OFFSET);
    if (data_offset > size || data_offset < IFG_HEADER_SIZE) return;
    ifg_put_u64(d + IFG_H_DATA_SIZE, size - data_offset);
    uint32_t n = ifg_get_u32(d + IFG_H_SECTION_COUNT);
    uint64_t table = ifg_get_u64(d + IFG_H_SECTION_TABLE);
    for (uint32_t i = 0; i < n && i < IFG_MAX_SECTIONS && table <= size; i++) {
        uint64_t e = table + (uint64_t)i * IFG_SECTION_ENTRY_SIZE, bytes;
        if (e + IFG_SECTION_ENTRY_SIZE > size) break;
        uint64_t count = ifg_get_u64(d + e + IFG_S_COUNT), entry = ifg_get_u32(d + e + IFG_S_ENTRY_SIZE);
        if (!__builtin_mul_overflow(count, entry, &bytes)) ifg_put_u64(d + e + IFG_S_SIZE, bytes);
    }
    ifg_put_u32(d + IFG_H_META_CRC, 0);
    ifg_put_u32(d + IFG_H_DATA_CRC, 0);
    ifg_put_u32(d + IFG_H_META_CRC, ifg_crc32(0, d, data_offset));
    ifg_put_u32(d + IFG_H_DATA_CRC, ifg_crc32(0, d + data_offset, size - data_offset));
}

/* ---- structure-aware mutations ----------------------------------------------------------------- */

static uint64_t next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Small values (they keep a model runnable) and the edges of every integer width. */
static int64_t interesting(uint64_t *s) {
    static const int64_t v[] = { -2, -1, 0, 1, 2, 3, 4, 5, 7, 8, 16, 255, 256, 65535, 65536, 1 << 20, (1 << 30) - 1,
                                 1 << 30, INT32_MAX, (int64_t)INT32_MAX + 1, INT32_MIN, (int64_t)1 << 32,
                                 (int64_t)1 << 48, ((int64_t)1 << 62) + 1, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
    uint64_t r = next(s);
    return r % 4 == 0 ? v[r / 4 % (sizeof v / sizeof *v)] : (int64_t)(next(s) % 9) - 2;
}

static uint8_t *entry_of(uint8_t *d, size_t size, uint32_t kind, uint64_t pick, uint64_t need) {
    section s = find_section(d, size, kind);
    if (!s.count || s.entry < need) return NULL;
    return d + s.offset + pick % s.count * s.entry;
}

/* One change to a field that means something: an attribute value, a list element, a tensor's dtype, rank,
 * dim or encoding, a node's op code or a tensor id. */
static void mutate_structure(uint8_t *d, size_t size, uint64_t *seed) {
    uint64_t pick = next(seed);
    uint8_t *e;
    switch (next(seed) % 8) {
    case 0:
    case 1:
        if ((e = entry_of(d, size, IFG_SEC_ATTRS, pick, IFG_ATTR_ENTRY_SIZE))) {
            uint32_t type = ifg_get_u32(e + IFG_A_TYPE), count = ifg_get_u32(e + IFG_A_COUNT);
            if (type == IFG_ATTR_INT) ifg_put_u64(e + IFG_A_VALUE, (uint64_t)interesting(seed));
            else if (type == IFG_ATTR_FLOAT) {
                double f = (double)interesting(seed) * (next(seed) % 2 ? 1.0 : 0.5);
                memcpy(e + IFG_A_VALUE, &f, 8);
            } else if ((type == IFG_ATTR_INTS || type == IFG_ATTR_FLOATS) && count) {
                /* one element, or all of them (kernel 2^30 x 2^30) */
                int64_t value = interesting(seed);
                uint64_t first = ifg_get_u64(e + IFG_A_VALUE), one = next(seed) % 2;
                for (uint64_t k = one ? next(seed) % count : 0; k < count && k < 16; k++) {
                    uint8_t *v = entry_of(d, size, IFG_SEC_VALUES, first + k, 8);
                    if (v) ifg_put_u64(v, (uint64_t)value);
                    if (one) break;
                }
            }
        }
        break;
    case 2:
        e = entry_of(d, size, IFG_SEC_ATTRS, pick, IFG_ATTR_ENTRY_SIZE);
        if (e && (ifg_get_u32(e + IFG_A_TYPE) == IFG_ATTR_INTS || ifg_get_u32(e + IFG_A_TYPE) == IFG_ATTR_FLOATS))
            ifg_put_u32(e + IFG_A_COUNT, (uint32_t)(next(seed) % 10)); /* a list of another length */
        break;
    case 3:
    case 4:
        if ((e = entry_of(d, size, IFG_SEC_TENSORS, pick, IFG_TENSOR_ENTRY_SIZE))) {
            int ndim = e[IFG_T_NDIM] >= 1 && e[IFG_T_NDIM] <= INFER_MAX_DIMS ? e[IFG_T_NDIM] : 1;
            switch (next(seed) % 4) {
            case 0: e[IFG_T_DTYPE] = (uint8_t)(1 + next(seed) % 8); break;
            case 1: /* another rank; the dims it drops are zeroed, as the format wants */
                e[IFG_T_NDIM] = (uint8_t)(next(seed) % 6);
                for (int k = e[IFG_T_NDIM]; k < INFER_MAX_DIMS; k++) ifg_put_u64(e + IFG_T_DIMS + 8 * k, 0);
                break;
            case 2: e[IFG_T_ENCODING] = (uint8_t)(next(seed) % 6); break;
            default: ifg_put_u64(e + IFG_T_DIMS + 8 * (next(seed) % (uint64_t)ndim), (uint64_t)interesting(seed));
            }
        }
        break;
    case 5:
        if ((e = entry_of(d, size, IFG_SEC_NODES, pick, IFG_NODE_ENTRY_SIZE)))
            ifg_put_u16(e + IFG_N_OP, (uint16_t)(1 + next(seed) % 27));
        break;
    default: {
        section t = find_section(d, size, IFG_SEC_TENSORS);
        if ((e = entry_of(d, size, IFG_SEC_IDS, pick, 4)))
            ifg_put_u32(e, next(seed) % 8 && t.count ? (uint32_t)(next(seed) % t.count) : IFG_NONE);
        break;
    }
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    uint64_t s = seed;
    if (next(&s) % 4 && size >= IFG_HEADER_SIZE) { /* 3 in 4 change a field that means something */
        int n = 1 + (int)(next(&s) % 3);
        for (int i = 0; i < n; i++) mutate_structure(data, size, &s);
    } else {
        size = LLVMFuzzerMutate(data, size, max_size);
    }
    if (next(&s) % 16) fix_up(data, size); /* 1 in 16 keeps its sizes and CRCs as they came */
    return size;
}

/* ---- the target -------------------------------------------------------------------------------- */

static int memfd = -1;
static char memfd_path[64];

/* How deep the inputs got: printed at exit when INFER_FUZZ_STATS is set. */
static struct {
    unsigned long inputs, loaded, built, ran;
} depth;

static void print_depth(void) {
    fprintf(stderr, "fuzz_model: %lu inputs, %lu loaded, %lu engines built, %lu runs succeeded\n", depth.inputs,
            depth.loaded, depth.built, depth.ran);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    memfd = memfd_create("fuzz_model", MFD_CLOEXEC);
    if (memfd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
    if (getenv("INFER_FUZZ_STATS")) atexit(print_depth);
    return 0;
}

/* The bytes of every activation at batch 1, from the validated tables; UINT64_MAX when it overflows. */
static uint64_t activation_bytes(const ifg_file *f) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < f->n_tensors; i++) {
        const ifg_tensor *t = &f->tensors[i];
        if (t->is_constant) continue;
        uint64_t n = infer_dtype_size(t->dtype);
        for (int k = 0; k < t->ndim; k++)
            if (__builtin_mul_overflow(n, (uint64_t)(t->dims[k] < 0 ? 1 : t->dims[k]), &n)) return UINT64_MAX;
        if (__builtin_add_overflow(total, n, &total)) return UINT64_MAX;
    }
    return total;
}

/* Small values of the input's dtype: floats in [-1, 1], ids and indices 0..2, bools 0/1. */
static void fill_input(infer_tensor *t, uint8_t *p, uint64_t seed) {
    int64_t n = infer_tensor_elements(t);
    size_t es = infer_dtype_size(t->dtype);
    for (int64_t i = 0; i < n; i++) {
        uint64_t v = next(&seed);
        switch (t->dtype) {
        case INFER_F32: ((float *)p)[i] = (float)(v % 2001) / 1000.0f - 1.0f; break;
        case INFER_F16:
        case INFER_BF16: ((uint16_t *)p)[i] = 0x3C00; break;
        case INFER_BOOL: p[i] = (uint8_t)(v % 2); break;
        default:
            if (es == 1) p[i] = (uint8_t)(v % 3);
            else if (es == 4) ((int32_t *)p)[i] = (int32_t)(v % 3);
            else ((int64_t *)p)[i] = (int64_t)(v % 3);
        }
    }
}

static void build_and_run(const infer_model *m, int optimize) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.max_batch = 1;
    o.threads = 1;
    o.optimize = optimize;
    infer_dim_max at_min[16]; /* every named dim planned and run at its minimum */
    for (int k = 0; k < infer_model_dim_count(m) && k < 16; k++) {
        infer_dim_info d;
        infer_model_dim(m, k, &d);
        at_min[k] = (infer_dim_max){ d.name, strcmp(d.name, "batch") ? d.min : 1 };
        o.n_dim_max = k + 1;
    }
    o.dim_max = at_min;
    infer_engine *e = NULL;
    infer_error err;
    if (infer_engine_create(m, &o, &e, &err) != INFER_OK) {
        if (!err.message[0] || e) abort(); /* refused: with a message, and no engine */
        return;
    }
    depth.built++;
    infer_engine_stats st;
    infer_engine_stats_get(e, &st);
    for (int i = 0; i < infer_engine_layer_count(e); i++) {
        infer_layer_info l;
        infer_engine_layer(e, i, &l);
    }
    int n_in = infer_model_input_count(m), n_out = infer_model_output_count(m);
    infer_tensor in[16], out[16];
    void *data[16] = { 0 };
    int ok = n_in <= 16 && n_out <= 16 && st.arena_bytes + st.workspace_bytes < MAX_RUN_BYTES;
    uint64_t in_bytes = 0;
    for (int i = 0; ok && i < n_in; i++) {
        infer_tensor_info info;
        infer_model_input(m, i, &info);
        memset(&in[i], 0, sizeof in[i]);
        in[i].dtype = info.dtype;
        in[i].ndim = info.ndim;
        for (int d = 0; d < info.ndim; d++)
            in[i].dims[d] = info.dims[d] != -1 ? info.dims[d] : info.dim_index[d] >= 0 ? at_min[info.dim_index[d]].max : 1;
        int64_t n = infer_tensor_elements(&in[i]);
        size_t es = infer_dtype_size(info.dtype);
        ok = n >= 0 && es && (in_bytes += (uint64_t)n * es) < MAX_RUN_BYTES;
        if (ok) {
            data[i] = calloc((size_t)(n ? n : 1), es);
            fill_input(&in[i], data[i], (uint64_t)i);
            in[i].data = data[i];
        }
    }
    if (ok) {
        if (infer_engine_run(e, in, n_in, out, n_out, &err) == INFER_OK) {
            depth.ran++;
            volatile uint8_t sink = 0; /* every byte of every output is readable */
            for (int k = 0; k < n_out; k++) {
                size_t bytes = (size_t)infer_tensor_elements(&out[k]) * infer_dtype_size(out[k].dtype);
                for (size_t j = 0; j < bytes; j++) sink ^= ((const uint8_t *)out[k].data)[j];
            }
            (void)sink;
        } else if (!err.message[0]) {
            abort(); /* a failed run names its problem */
        }
    }
    for (int i = 0; i < n_in && i < 16; i++) free(data[i]);
    infer_engine_destroy(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The file as the loader validates it, then the cost of building it. */
    ifg_file f;
    infer_error err;
    depth.inputs++;
    if (ifg_open_memory(data, size, &f, &err) != INFER_OK) {
        if (!err.message[0]) abort();
        return 0;
    }
    uint64_t act = activation_bytes(&f);
    for (uint32_t k = 0; k < f.n_dyn_dims; k++) /* engines run named dims at their minimum: keep it small */
        if (f.dyn_dims[k].min > 64) act = UINT64_MAX;
    ifg_close(&f);
    depth.loaded++;
    if (act > MAX_ACTIVATION_BYTES) return 0;
    /* The public path: a file, mapped. */
    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size) abort();
    infer_model *m = NULL;
    if (infer_model_load(memfd_path, &m, &err) != INFER_OK) abort(); /* it validated from memory */
    infer_model_stats ms;
    infer_model_stats_get(m, &ms);
    for (int i = 0; i < infer_model_node_count(m); i++) {
        const char *op, *name;
        infer_model_node(m, i, &op, &name);
    }
    build_and_run(m, 0);
    build_and_run(m, 1);
    infer_model_free(m);
    return 0;
}
