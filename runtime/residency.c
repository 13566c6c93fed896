/* residency.c — releasing the pages of file weights that an optimized graph replaced. */
#include <stdlib.h>
#include "residency.h"

static int cmp_ptr(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return (x > y) - (x < y);
}

void residency_release_unused(const infer_engine *e) {
    const ifg_file *file = &e->model->file;
    const ir_graph *g = &e->graph;
    if (!file->mapped) return;
    /* Sorted data pointers of the constants the graph reads; file tensors not among them are unused. */
    const char **used = malloc(((size_t)g->n_tensors + 1) * sizeof *used);
    if (!used) return;
    size_t n_used = 0;
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].is_constant && g->tensors[t].data && ir_consumer_count(g, t) > 0)
            used[n_used++] = g->tensors[t].data;
    qsort(used, n_used, sizeof *used, cmp_ptr);
    for (uint32_t i = 0; i < file->n_tensors; i++) {
        const ifg_tensor *t = &file->tensors[i];
        const char *p = t->data;
        if (!t->is_constant || !p || bsearch(&p, used, n_used, sizeof *used, cmp_ptr)) continue;
        ifg_release_range(file, t->data, t->data_size);
    }
    free(used);
}
