/* tune_cache.c — parse, check and write the tuning cache file; nothing here trusts the file blindly. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "tune_cache.h"

#define MAGIC "infer-tune-cache"
#define VERSION 1

static uint64_t fnv1a(const char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int fail(char *w, size_t n, const char *fmt, ...) {
    if (w && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w, n, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static int storable(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= TUNE_CACHE_MAX_FIELD) return 0;
    return strpbrk(s, "\t\r\n") == NULL;
}

void tune_cache_init(tune_cache *c, const char *env) {
    memset(c, 0, sizeof *c);
    snprintf(c->env, sizeof c->env, "%s", env ? env : "");
}

static void clear_entries(tune_cache *c) {
    for (int i = 0; i < c->n; i++) {
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    c->n = 0;
}

void tune_cache_free(tune_cache *c) {
    clear_entries(c);
    free(c->entries);
    c->entries = NULL;
    c->cap = 0;
}

const char *tune_cache_get(const tune_cache *c, const char *key) {
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].key, key) == 0) return c->entries[i].value;
    return NULL;
}

int tune_cache_put(tune_cache *c, const char *key, const char *value) {
    if (!storable(key) || !storable(value)) return 0;
    char *v = strdup(value);
    if (!v) return 0;
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].key, key) == 0) {
            free(c->entries[i].value);
            c->entries[i].value = v;
            c->dirty = 1;
            return 1;
        }
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 16;
        tune_entry *e = realloc(c->entries, (size_t)cap * sizeof *e);
        if (!e) {
            free(v);
            return 0;
        }
        c->entries = e;
        c->cap = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return 0;
    }
    c->entries[c->n].key = k;
    c->entries[c->n].value = v;
    c->n++;
    c->dirty = 1;
    return 1;
}

/* Splits line [p, end) at TABs into at most max fields (copies, NUL-terminated, each < TUNE_CACHE_MAX_FIELD). */
static int split(const char *p, const char *end, char f[][TUNE_CACHE_MAX_FIELD], int max) {
    int k = 0;
    while (k < max) {
        const char *t = memchr(p, '\t', (size_t)(end - p));
        const char *e = t ? t : end;
        size_t n = (size_t)(e - p);
        if (n >= TUNE_CACHE_MAX_FIELD) return -1;
        memcpy(f[k], p, n);
        f[k][n] = 0;
        if (memchr(f[k], 0, n)) return -1; /* embedded NUL */
        k++;
        if (!t) return k;
        p = t + 1;
    }
    return -1; /* more fields than expected */
}

int tune_cache_parse(tune_cache *c, const char *text, size_t len, char *warn, size_t warn_len) {
    char f[3][TUNE_CACHE_MAX_FIELD]; /* on the stack: no shared state */
    clear_entries(c);
    c->dirty = 0;
    size_t pos = 0;
    int line = 0, count = 0, ended = 0;
    while (pos < len) {
        const char *p = text + pos, *nl = memchr(p, '\n', len - pos);
        if (!nl) {
            clear_entries(c);
            return fail(warn, warn_len, "line %d is not terminated (truncated file)", line + 1);
        }
        line++;
        int k = split(p, nl, f, 3);
        if (k < 0) {
            clear_entries(c);
            return fail(warn, warn_len, "line %d is malformed", line);
        }
        if (line == 1) {
            if (k != 2 || strcmp(f[0], MAGIC) != 0) {
                clear_entries(c);
                return fail(warn, warn_len, "not a tuning cache (bad first line)");
            }
            if (atoi(f[1]) != VERSION) {
                clear_entries(c);
                return fail(warn, warn_len, "tuning cache version %s, expected %d", f[1], VERSION);
            }
        } else if (line == 2) {
            if (k != 2 || strcmp(f[0], "env") != 0) {
                clear_entries(c);
                return fail(warn, warn_len, "line 2 is not the env line");
            }
            if (strcmp(f[1], c->env) != 0) {
                clear_entries(c);
                return fail(warn, warn_len, "stale: made for [%.400s], this is [%.400s]", f[1], c->env);
            }
        } else if (k == 3 && strcmp(f[0], "entry") == 0) {
            if (!storable(f[1]) || !storable(f[2]) || tune_cache_get(c, f[1])) {
                clear_entries(c);
                return fail(warn, warn_len, "line %d: bad or duplicate entry", line);
            }
            if (!tune_cache_put(c, f[1], f[2])) {
                clear_entries(c);
                return fail(warn, warn_len, "out of memory");
            }
            count++;
        } else if (k == 3 && strcmp(f[0], "end") == 0) {
            char *e1 = NULL, *e2 = NULL;
            long n = strtol(f[1], &e1, 10);
            unsigned long long h = strtoull(f[2], &e2, 16);
            if (*e1 || *e2 || strlen(f[2]) != 16 || n != count || h != (unsigned long long)fnv1a(text, pos)) {
                clear_entries(c);
                return fail(warn, warn_len, "checksum or entry count mismatch (corrupt file)");
            }
            ended = 1;
            pos = (size_t)(nl - text) + 1;
            break;
        } else {
            clear_entries(c);
            return fail(warn, warn_len, "line %d is malformed", line);
        }
        pos = (size_t)(nl - text) + 1;
    }
    if (!ended) {
        clear_entries(c);
        return fail(warn, warn_len, line < 2 ? "empty or truncated file" : "no end line (truncated file)");
    }
    if (pos != len) {
        clear_entries(c);
        return fail(warn, warn_len, "data after the end line");
    }
    c->dirty = 0;
    return 1;
}

char *tune_cache_serialize(const tune_cache *c, size_t *len) {
    size_t cap = strlen(MAGIC) + strlen(c->env) + 128;
    for (int i = 0; i < c->n; i++) cap += strlen(c->entries[i].key) + strlen(c->entries[i].value) + 16;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t n = (size_t)snprintf(s, cap, "%s\t%d\nenv\t%s\n", MAGIC, VERSION, c->env);
    for (int i = 0; i < c->n; i++)
        n += (size_t)snprintf(s + n, cap - n, "entry\t%s\t%s\n", c->entries[i].key, c->entries[i].value);
    n += (size_t)snprintf(s + n, cap - n, "end\t%d\t%016llx\n", c->n, (unsigned long long)fnv1a(s, n));
    if (len) *len = n;
    return s;
}

int tune_cache_load(tune_cache *c, const char *path, char *warn, size_t warn_len) {
    FILE *f = fopen(path, "rb");
    if (!f) return fail(warn, warn_len, "tuning cache %s: %s; starting empty", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            if (cap > ((size_t)64 << 20)) {
                free(buf);
                fclose(f);
                return fail(warn, warn_len, "tuning cache %s is larger than 64 MiB; ignored", path);
            }
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return fail(warn, warn_len, "tuning cache %s: out of memory", path);
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return fail(warn, warn_len, "tuning cache %s: read error; ignored", path);
    }
    char why[1200];
    int ok = tune_cache_parse(c, buf ? buf : "", len, why, sizeof why);
    free(buf);
    if (!ok) return fail(warn, warn_len, "tuning cache %s ignored: %s", path, why);
    return 1;
}

int tune_cache_save(const tune_cache *c, const char *path, char *why, size_t why_len) {
    size_t len = 0;
    char *s = tune_cache_serialize(c, &len);
    if (!s) return fail(why, why_len, "out of memory");
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) {
        free(s);
        return fail(why, why_len, "out of memory");
    }
    /* a name of its own (mkstemp), so two engines saving the same cache at once never share a temporary file */
    snprintf(tmp, plen + 32, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd >= 0) fchmod(fd, 0644); /* mkstemp makes it 0600; a cache is an ordinary file */
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            remove(tmp);
        }
        free(s);
        free(tmp);
        return fail(why, why_len, "cannot write %s: %s", path, strerror(e));
    }
    int ok = fwrite(s, 1, len, f) == len;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) != 0) ok = 0;
    int e = errno;
    if (!ok) remove(tmp);
    free(s);
    free(tmp);
    if (!ok) return fail(why, why_len, "cannot write %s: %s", path, strerror(e));
    return 1;
}
