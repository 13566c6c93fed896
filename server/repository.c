/* repository.c — finds the models to serve: REPO/<model>/<version>/model.ifg with REPO/<model>/config, or one file. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "repository.h"

static int parse_int(const char *s, int min, int max, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = 0;
    return s;
}

static int set_key(srv_model_config *c, const char *key, const char *val) {
    if (!strcmp(key, "max_batch")) return parse_int(val, 1, 4096, &c->max_batch);
    if (!strcmp(key, "max_queue_delay_us")) return parse_int(val, 0, 10000000, &c->max_queue_delay_us);
    if (!strcmp(key, "max_queue")) return parse_int(val, 1, 1000000, &c->max_queue);
    if (!strcmp(key, "instances")) return parse_int(val, 1, 64, &c->instances);
    if (!strcmp(key, "threads")) return parse_int(val, 0, 1024, &c->threads);
    if (!strcmp(key, "timeout_ms")) return parse_int(val, 1, 3600000, &c->timeout_ms);
    if (!strcmp(key, "device")) {
        if (!strcmp(val, "auto")) c->device = INFER_DEVICE_AUTO;
        else if (!strcmp(val, "cpu")) c->device = INFER_DEVICE_CPU;
        else if (!strcmp(val, "cuda")) c->device = INFER_DEVICE_CUDA;
        else return -1;
        return 0;
    }
    if (!strcmp(key, "precision")) {
        if (!strcmp(val, "fp32")) c->precision = INFER_PRECISION_FP32;
        else if (!strcmp(val, "tf32")) c->precision = INFER_PRECISION_TF32;
        else if (!strcmp(val, "fp16")) c->precision = INFER_PRECISION_FP16;
        else if (!strcmp(val, "bf16")) c->precision = INFER_PRECISION_BF16;
        else return -1;
        return 0;
    }
    return -2;
}

srv_code srv_config_read(const char *path, srv_model_config *config, srv_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return SRV_OK; /* no config: the server's defaults */
    char line[512];
    int number = 0;
    srv_code code = SRV_OK;
    while (code == SRV_OK && fgets(line, sizeof line, f)) {
        number++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            code = srv_fail(err, SRV_INVALID, "%s:%d: expected key=value", path, number);
            break;
        }
        *eq = 0;
        char *key = trim(s), *val = trim(eq + 1);
        int rc = set_key(config, key, val);
        if (rc == -2)
            code = srv_fail(err, SRV_INVALID, "%s:%d: unknown key '%s' (known: max_batch, max_queue_delay_us, max_queue, "
                            "instances, threads, timeout_ms, device, precision)", path, number, key);
        else if (rc)
            code = srv_fail(err, SRV_INVALID, "%s:%d: bad value '%s' for %s", path, number, val, key);
    }
    fclose(f);
    return code;
}

static int is_version(const char *s) {
    if (!*s || strlen(s) > 18) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

static srv_code add_model_dir(srv_core *core, const char *repo, const char *name, const srv_model_config *defaults,
                              int *added, srv_error *err) {
    char dir[4096], path[4200];
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", repo, name) >= sizeof dir)
        return srv_fail(err, SRV_INVALID, "path too long: %.200s/%.200s", repo, name);
    srv_model_config config = *defaults;
    snprintf(path, sizeof path, "%s/config", dir);
    srv_code code = srv_config_read(path, &config, err);
    if (code != SRV_OK) return code;
    DIR *d = opendir(dir);
    if (!d) return SRV_OK;
    for (struct dirent *e; code == SRV_OK && (e = readdir(d));) {
        if (!is_version(e->d_name)) continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s/model.ifg", dir, e->d_name) >= sizeof path) continue;
        struct stat st;
        if (stat(path, &st) || !S_ISREG(st.st_mode)) continue;
        code = srv_core_add_model(core, name, atoll(e->d_name), path, &config, err);
        (*added)++;
    }
    closedir(d);
    return code;
}

srv_code srv_repository_load(srv_core *core, const char *path, const srv_model_config *defaults, srv_error *err) {
    struct stat st;
    if (stat(path, &st)) return srv_fail(err, SRV_INVALID, "cannot open '%s': no such file or folder", path);
    if (S_ISREG(st.st_mode)) { /* one model file: served as its file name, version 1 */
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char name[256];
        snprintf(name, sizeof name, "%s", base);
        char *dot = strrchr(name, '.');
        if (dot && dot != name) *dot = 0;
        return srv_core_add_model(core, name, 1, path, defaults, err);
    }
    DIR *d = opendir(path);
    if (!d) return srv_fail(err, SRV_INVALID, "cannot read the model repository '%s'", path);
    int added = 0;
    srv_code code = SRV_OK;
    for (struct dirent *e; code == SRV_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (!stat(sub, &st) && S_ISDIR(st.st_mode)) code = add_model_dir(core, path, e->d_name, defaults, &added, err);
    }
    closedir(d);
    if (code == SRV_OK && !added)
        code = srv_fail(err, SRV_INVALID, "no models in '%s' (expected %s/<model>/<version>/model.ifg)", path, path);
    return code;
}
