/* ifg_graph.c — .ifg validation steps 7-8: attributes, nodes (ids, topological order, one producer), GRAPH. */
#include <inttypes.h>
#include <stdlib.h>
#include "ifg_internal.h"
#include "../base/ops.h"

#define FAIL(...) infer_fail(err, INFER_ERR_FORMAT, __VA_ARGS__)
#define NFAIL(fmt, ...)                                                                                     \
    FAIL("node %u ('%.200s', op %u %s) at file offset 0x%" PRIx64 ": " fmt, i, f->nodes[i].name,              \
         ifg_get_u16(ifg_entry(r, IFG_SEC_NODES, i)), op_name(ifg_get_u16(ifg_entry(r, IFG_SEC_NODES, i))),  \
         ifg_entry_offset(r, IFG_SEC_NODES, i), ##__VA_ARGS__)
#define AFAIL(fmt, ...) FAIL("ATTRS entry %" PRIu64 " ('%.200s') at file offset 0x%" PRIx64 ": " fmt, j, a->key, \
                             ifg_entry_offset(r, IFG_SEC_ATTRS, j), ##__VA_ARGS__)
#define GFAIL(fmt, ...) FAIL("GRAPH entry at file offset 0x%" PRIx64 ": " fmt, ifg_entry_offset(r, IFG_SEC_GRAPH, 0), \
                             ##__VA_ARGS__)

/* Working memory of these steps, one allocation. */
typedef struct {
    uint32_t *producer;      /* per tensor: the node writing it, or IFG_NONE */
    uint8_t *is_input;       /* per tensor: a graph input */
    uint8_t *ids_used;       /* per IDS entry: inside some node's or the graph's range */
    uint8_t *attrs_used;     /* per ATTRS entry: inside some node's range */
    uint32_t *table;         /* hash table for attribute keys, room for the largest range */
} graph_scratch;

static infer_status check_attrs(const ifg_reader *r, ifg_file *f, infer_error *err) {
    const ifg_section_info *values = &r->sec[IFG_SEC_VALUES];
    for (uint64_t j = 0; j < r->sec[IFG_SEC_ATTRS].count; j++) {
        const uint8_t *e = ifg_entry(r, IFG_SEC_ATTRS, j);
        ifg_attr *a = &f->attrs[j];
        uint32_t type = ifg_get_u32(e + IFG_A_TYPE), count = ifg_get_u32(e + IFG_A_COUNT);
        uint64_t value = ifg_get_u64(e + IFG_A_VALUE);
        if (type < IFG_ATTR_INT || type > IFG_ATTR_STRING)
            return AFAIL("type %u is unknown (known types are 1..5)", type);
        if (r->strict && ifg_get_u32(e + IFG_A_RESERVED))
            return AFAIL("the reserved field (entry offset 12) is %u; it must be zero", ifg_get_u32(e + IFG_A_RESERVED));
        a->type = (int)type;
        a->count = count;
        if (type == IFG_ATTR_INTS || type == IFG_ATTR_FLOATS) {
            if (value > values->count || count > values->count - value)
                return AFAIL("values [%" PRIu64 ", +%u) are outside the VALUES section (%" PRIu64 " entries)", value,
                             count, values->count);
            a->values = r->values + 8 * value;
            continue;
        }
        if (count != 1) return AFAIL("count is %u; an int, float or string attribute has count 1", count);
        if (type == IFG_ATTR_INT) a->i = (int64_t)value;
        if (type == IFG_ATTR_FLOAT) memcpy(&a->f, &value, sizeof a->f);
    }
    return INFER_OK;
}

/* Marks [start, start + count) of used[n]; fails on an entry marked before. */
static int mark_range(uint8_t *used, uint64_t start, uint32_t count, uint64_t *twice) {
    for (uint64_t k = start; k < start + count; k++) {
        if (used[k]) {
            *twice = k;
            return 0;
        }
        used[k] = 1;
    }
    return 1;
}

static infer_status check_graph_inputs(const ifg_reader *r, ifg_file *f, graph_scratch *s, infer_error *err) {
    const uint8_t *e = ifg_entry(r, IFG_SEC_GRAPH, 0);
    uint32_t in_start = ifg_get_u32(e), in_count = ifg_get_u32(e + 4);
    uint32_t out_start = ifg_get_u32(e + 8), out_count = ifg_get_u32(e + 12);
    uint64_t n_ids = r->sec[IFG_SEC_IDS].count, twice;
    if ((uint64_t)in_start + in_count > n_ids || (uint64_t)out_start + out_count > n_ids)
        return GFAIL("inputs [%u, +%u) or outputs [%u, +%u) are outside the IDS section (%" PRIu64 " entries)",
                     in_start, in_count, out_start, out_count, n_ids);
    if (!mark_range(s->ids_used, in_start, in_count, &twice) || !mark_range(s->ids_used, out_start, out_count, &twice))
        return GFAIL("IDS entry %" PRIu64 " is in two ranges (ranges must not overlap)", twice);
    if (out_count == 0) return GFAIL("the graph has no outputs");
    f->inputs = f->ids + in_start;
    f->n_inputs = in_count;
    f->outputs = f->ids + out_start;
    f->n_outputs = out_count;
    for (uint32_t k = 0; k < in_count; k++) {
        uint32_t id = f->inputs[k];
        if (id >= f->n_tensors) return GFAIL("input %u is %u, not a tensor id (%u tensors)", k, id, f->n_tensors);
        if (f->tensors[id].is_constant)
            return GFAIL("input %u is tensor %u ('%.200s'), a constant; graph inputs are activations", k, id,
                         f->tensors[id].name);
        if (s->is_input[id]) return GFAIL("input %u is tensor %u ('%.200s'), listed twice", k, id, f->tensors[id].name);
        s->is_input[id] = 1;
    }
    return INFER_OK;
}

static const char *attr_key_of(const void *items, uint32_t i) { return ((const ifg_attr *)items)[i].key; }

/* Ranges, counts, outputs and attribute keys of node i. */
static infer_status check_node(const ifg_reader *r, ifg_file *f, uint32_t i, graph_scratch *s, infer_error *err) {
    const uint8_t *e = ifg_entry(r, IFG_SEC_NODES, i);
    ifg_node *n = &f->nodes[i];
    n->op = ifg_get_u16(e + IFG_N_OP);
    const op_info *info = op_get_info(n->op);
    if (!info) return NFAIL("op code %d is unknown (docs/OPS.md)", n->op);
    if (r->strict && ifg_get_u16(e + IFG_N_RESERVED))
        return NFAIL("the reserved field (entry offset 2) is %u; it must be zero", ifg_get_u16(e + IFG_N_RESERVED));
    uint32_t in_start = ifg_get_u32(e + IFG_N_INPUTS), out_start = ifg_get_u32(e + IFG_N_OUTPUTS);
    uint32_t attr_start = ifg_get_u32(e + IFG_N_ATTRS);
    n->n_inputs = ifg_get_u32(e + IFG_N_INPUT_COUNT);
    n->n_outputs = ifg_get_u32(e + IFG_N_OUTPUT_COUNT);
    n->n_attrs = ifg_get_u32(e + IFG_N_ATTR_COUNT);
    uint64_t n_ids = r->sec[IFG_SEC_IDS].count, n_attrs = r->sec[IFG_SEC_ATTRS].count, twice;
    if ((uint64_t)in_start + n->n_inputs > n_ids || (uint64_t)out_start + n->n_outputs > n_ids)
        return NFAIL("inputs [%u, +%u) or outputs [%u, +%u) are outside the IDS section (%" PRIu64 " entries)",
                     in_start, n->n_inputs, out_start, n->n_outputs, n_ids);
    if ((uint64_t)attr_start + n->n_attrs > n_attrs)
        return NFAIL("attributes [%u, +%u) are outside the ATTRS section (%" PRIu64 " entries)", attr_start,
                     n->n_attrs, n_attrs);
    if (n->n_inputs < (uint32_t)info->min_inputs || (info->max_inputs >= 0 && n->n_inputs > (uint32_t)info->max_inputs))
        return NFAIL("has %u inputs; %s takes %d to %d%s", n->n_inputs, info->name, info->min_inputs,
                     info->max_inputs >= 0 ? info->max_inputs : info->min_inputs, info->max_inputs >= 0 ? "" : " or more");
    if (n->n_outputs != (uint32_t)info->outputs)
        return NFAIL("has %u outputs; %s produces %d", n->n_outputs, info->name, info->outputs);
    if (!mark_range(s->ids_used, in_start, n->n_inputs, &twice) || !mark_range(s->ids_used, out_start, n->n_outputs, &twice))
        return NFAIL("IDS entry %" PRIu64 " is in two ranges (ranges must not overlap)", twice);
    if (!mark_range(s->attrs_used, attr_start, n->n_attrs, &twice))
        return NFAIL("ATTRS entry %" PRIu64 " belongs to two nodes (ranges must not overlap)", twice);
    n->inputs = f->ids + in_start;
    n->outputs = f->ids + out_start;
    n->attrs = f->attrs + attr_start;
    for (uint32_t k = 0; k < n->n_outputs; k++) {
        uint32_t id = n->outputs[k];
        if (id >= f->n_tensors) return NFAIL("output %u is %u, not a tensor id (%u tensors)", k, id, f->n_tensors);
        const ifg_tensor *t = &f->tensors[id];
        if (t->is_constant)
            return NFAIL("output %u is tensor %u ('%.200s'), a constant; outputs are activations", k, id, t->name);
        if (s->is_input[id])
            return NFAIL("output %u is tensor %u ('%.200s'), a graph input; graph inputs have no producer", k, id,
                         t->name);
        if (s->producer[id] != IFG_NONE)
            return NFAIL("output %u is tensor %u ('%.200s'), also produced by node %u; every activation has one "
                         "producer", k, id, t->name, s->producer[id]);
        s->producer[id] = i;
    }
    uint32_t cap = 2, first, second;
    while (cap < 2 * (uint64_t)n->n_attrs) cap *= 2;
    if (ifg_find_duplicate(attr_key_of, n->attrs, n->n_attrs, s->table, cap, &first, &second))
        return NFAIL("attribute key '%.200s' appears twice (entries %u and %u of its range)", n->attrs[first].key,
                     first, second);
    return INFER_OK;
}

/* Every input is absent (after the first), a constant, a graph input or an earlier node's output. */
static infer_status check_node_inputs(const ifg_reader *r, const ifg_file *f, uint32_t i, const graph_scratch *s,
                                      infer_error *err) {
    const ifg_node *n = &f->nodes[i];
    for (uint32_t k = 0; k < n->n_inputs; k++) {
        uint32_t id = n->inputs[k];
        if (id == IFG_NONE && k > 0) continue;
        if (id == IFG_NONE) return NFAIL("input 0 is absent (IFG_NONE); only later, optional inputs may be");
        if (id >= f->n_tensors) return NFAIL("input %u is %u, not a tensor id (%u tensors)", k, id, f->n_tensors);
        const ifg_tensor *t = &f->tensors[id];
        uint32_t p = s->producer[id];
        if (t->is_constant || s->is_input[id]) continue;
        if (p == IFG_NONE)
            return NFAIL("input %u is tensor %u ('%.200s'), an activation that no node produces and that is not a "
                         "graph input", k, id, t->name);
        if (p >= i)
            return NFAIL("input %u is tensor %u ('%.200s'), produced by node %u, which does not come earlier "
                         "(nodes must be in topological order)", k, id, t->name, p);
    }
    return INFER_OK;
}

static infer_status check_graph_outputs(const ifg_reader *r, const ifg_file *f, const graph_scratch *s,
                                        infer_error *err) {
    for (uint32_t k = 0; k < f->n_outputs; k++) {
        uint32_t id = f->outputs[k];
        if (id >= f->n_tensors) return GFAIL("output %u is %u, not a tensor id (%u tensors)", k, id, f->n_tensors);
        if (s->producer[id] == IFG_NONE && !s->is_input[id])
            return GFAIL("output %u is tensor %u ('%.200s'), which no node produces and which is not a graph input",
                         k, id, f->tensors[id].name);
    }
    return INFER_OK;
}

static infer_status run_checks(const ifg_reader *r, ifg_file *f, graph_scratch *s, infer_error *err) {
    infer_status st = check_attrs(r, f, err);
    if (st == INFER_OK) st = check_graph_inputs(r, f, s, err);
    for (uint32_t i = 0; st == INFER_OK && i < f->n_nodes; i++) st = check_node(r, f, i, s, err);
    for (uint32_t i = 0; st == INFER_OK && i < f->n_nodes; i++) st = check_node_inputs(r, f, i, s, err);
    if (st == INFER_OK) st = check_graph_outputs(r, f, s, err);
    return st;
}

infer_status ifg_decode_graph(const ifg_reader *r, ifg_file *f, infer_error *err) {
    uint64_t n_ids = r->sec[IFG_SEC_IDS].count, n_attrs = r->sec[IFG_SEC_ATTRS].count, cap = 2;
    while (cap < 2 * n_attrs) cap *= 2;
    graph_scratch s;
    uint64_t bytes = 5 * (uint64_t)f->n_tensors + n_ids + n_attrs + 4 * cap;
    uint8_t *mem = cap <= UINT32_MAX && bytes <= SIZE_MAX ? malloc(bytes) : NULL;
    if (!mem) return infer_fail(err, INFER_ERR_MEMORY, "out of memory validating the graph (%" PRIu64 " bytes)", bytes);
    s.table = (uint32_t *)mem;
    s.producer = s.table + cap;
    s.is_input = (uint8_t *)(s.producer + f->n_tensors);
    s.ids_used = s.is_input + f->n_tensors;
    s.attrs_used = s.ids_used + n_ids;
    memset(s.producer, 0xFF, 4 * (size_t)f->n_tensors);
    memset(s.is_input, 0, (size_t)(f->n_tensors + n_ids + n_attrs));
    infer_status st = run_checks(r, f, &s, err);
    free(mem);
    return st;
}
