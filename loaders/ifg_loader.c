/* ifg_loader.c — opening an .ifg file (mmap), running the validation steps and decoding into ifg_file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ifg_internal.h"

/* Adds n * elem bytes to *total; 0 on overflow. */
static int add_array(uint64_t *total, uint64_t n, uint64_t elem) {
    uint64_t bytes;
    return !__builtin_mul_overflow(n, elem, &bytes) && !__builtin_add_overflow(*total, bytes, total);
}

/* One block holds tensors, nodes, attrs, meta, a packed VALUES copy (wide entries only) and ids, in
 * that order; file->tensors is its start and what ifg_close frees. */
static infer_status allocate(ifg_reader *r, ifg_file *f, infer_error *err) {
    uint64_t n_attrs = r->sec[IFG_SEC_ATTRS].count, n_ids = r->sec[IFG_SEC_IDS].count;
    uint64_t n_copy = r->sec[IFG_SEC_VALUES].entry_size == 8 ? 0 : r->sec[IFG_SEC_VALUES].count;
    f->n_tensors = (uint32_t)r->sec[IFG_SEC_TENSORS].count;
    f->n_nodes = (uint32_t)r->sec[IFG_SEC_NODES].count;
    f->n_meta = (uint32_t)r->sec[IFG_SEC_META].count;
    uint64_t total = 0, at_nodes, at_attrs, at_meta, at_values, at_ids;
    int ok = add_array(&total, f->n_tensors, sizeof(ifg_tensor));
    at_nodes = total;
    ok = ok && add_array(&total, f->n_nodes, sizeof(ifg_node));
    at_attrs = total;
    ok = ok && add_array(&total, n_attrs, sizeof(ifg_attr));
    at_meta = total;
    ok = ok && add_array(&total, f->n_meta, sizeof(ifg_meta));
    at_values = total;
    ok = ok && add_array(&total, n_copy, 8);
    at_ids = total;
    ok = ok && add_array(&total, n_ids, 4) && total < SIZE_MAX;
    uint8_t *block = ok ? calloc(1, (size_t)total + 1) : NULL;
    if (!block)
        return infer_fail(err, INFER_ERR_MEMORY, "out of memory decoding %u tensors and %u nodes (%" PRIu64 " bytes)",
                          f->n_tensors, f->n_nodes, total);
    f->tensors = (ifg_tensor *)block;
    f->nodes = (ifg_node *)(block + at_nodes);
    f->attrs = (ifg_attr *)(block + at_attrs);
    f->meta = (ifg_meta *)(block + at_meta);
    f->ids = (uint32_t *)(block + at_ids);
    for (uint64_t k = 0; k < n_ids; k++) f->ids[k] = ifg_get_u32(ifg_entry(r, IFG_SEC_IDS, k));
    r->values = r->map + r->sec[IFG_SEC_VALUES].offset;
    if (n_copy) {
        for (uint64_t k = 0; k < n_copy; k++) memcpy(block + at_values + 8 * k, ifg_entry(r, IFG_SEC_VALUES, k), 8);
        r->values = block + at_values;
    }
    return INFER_OK;
}

static infer_status validate(const uint8_t *map, uint64_t size, ifg_file *f, infer_error *err) {
    ifg_reader r;
    infer_status st = ifg_check_header(&r, map, size, err);
    if (st == INFER_OK) st = ifg_check_sections(&r, err);
    if (st != INFER_OK) return st;
    f->map = map;
    f->size = size;
    f->version_major = ifg_get_u16(map + IFG_H_VERSION_MAJOR);
    f->version_minor = ifg_get_u16(map + IFG_H_VERSION_MINOR);
    st = allocate(&r, f, err);
    if (st == INFER_OK) st = ifg_decode_strings(&r, f, err);
    if (st == INFER_OK) st = ifg_decode_dyn_dims(&r, f, err);
    if (st == INFER_OK) st = ifg_decode_tensors(&r, f, err);
    if (st == INFER_OK) st = ifg_decode_graph(&r, f, err);
    if (st == INFER_OK) st = ifg_check_dyn_inputs(&r, f, err);
    return st;
}

infer_status ifg_open_memory(const void *bytes, uint64_t size, ifg_file *file, infer_error *err) {
    if (!file || (!bytes && size))
        return infer_fail(err, INFER_ERR_ARGUMENT, "ifg_open_memory: a file and the bytes are required");
    memset(file, 0, sizeof *file);
    infer_status st = validate(bytes, size, file, err);
    if (st != INFER_OK) ifg_close(file);
    return st;
}

infer_status ifg_open(const char *path, ifg_file *file, infer_error *err) {
    if (!path || !file) return infer_fail(err, INFER_ERR_ARGUMENT, "ifg_open: a path and a file are required");
    memset(file, 0, sizeof *file);
    char why[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return infer_fail(err, INFER_ERR_IO, "cannot open '%s': %s", path, strerror_r(errno, why, sizeof why));
    struct stat st;
    int stat_ok = fstat(fd, &st) == 0;
    if (!stat_ok || !S_ISREG(st.st_mode)) {
        const char *reason = stat_ok ? "not a regular file" : strerror_r(errno, why, sizeof why);
        close(fd);
        return infer_fail(err, INFER_ERR_IO, "cannot read '%s': %s", path, reason);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size == 0) { /* nothing to map; validation reports the empty file */
        close(fd);
        return ifg_open_memory("", 0, file, err);
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED)
        return infer_fail(err, INFER_ERR_IO, "cannot map '%s' (%" PRIu64 " bytes): %s", path, size,
                          strerror_r(map_errno, why, sizeof why));
    infer_status status = ifg_open_memory(map, size, file, err);
    if (status != INFER_OK) {
        munmap(map, (size_t)size);
        return status;
    }
    file->mapped = 1;
    /* The checksum pass read every page of tensor data; drop them again, so that only the weights an
     * engine reads stay resident (a page faults back in from the file when it is used). */
    uint64_t data_offset;
    memcpy(&data_offset, file->map + 40, sizeof data_offset);
    ifg_release_range(file, file->map + data_offset, size - data_offset);
    return INFER_OK;
}

void ifg_release_range(const ifg_file *file, const void *start, uint64_t bytes) {
    if (!file || !file->mapped || !bytes) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t begin = ((uintptr_t)start + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)start + bytes) & ~(page - 1);
    if (end > begin) madvise((void *)begin, end - begin, MADV_DONTNEED);
}

void ifg_close(ifg_file *file) {
    if (!file) return;
    free(file->tensors);
    free(file->exprs);
    if (file->mapped) munmap((void *)file->map, (size_t)file->size);
    memset(file, 0, sizeof *file);
}

const ifg_attr *ifg_node_attr(const ifg_node *node, const char *key) {
    for (uint32_t i = 0; node && key && i < node->n_attrs; i++)
        if (strcmp(node->attrs[i].key, key) == 0) return &node->attrs[i];
    return NULL;
}

int64_t ifg_attr_int_at(const ifg_attr *attr, uint32_t i) {
    if (!attr || attr->type != IFG_ATTR_INTS || i >= attr->count) return 0;
    return ifg_get_i64((const uint8_t *)attr->values + 8 * (uint64_t)i);
}

double ifg_attr_float_at(const ifg_attr *attr, uint32_t i) {
    if (!attr || attr->type != IFG_ATTR_FLOATS || i >= attr->count) return 0.0;
    return ifg_get_f64((const uint8_t *)attr->values + 8 * (uint64_t)i);
}
