/* tune_cache.h — the algorithm tuning cache: key/value entries valid under one environment key, as a checked text file (plain C). */
#ifndef INFER_TUNE_CACHE_H
#define INFER_TUNE_CACHE_H

#include <stddef.h>

/* File format (text, one record a line, fields separated by one TAB):
 *   infer-tune-cache<TAB>1
 *   env<TAB><environment key: GPU name, compute capability, driver and library versions>
 *   entry<TAB><key><TAB><value>          (any number; keys unique)
 *   end<TAB><entry count><TAB><FNV-1a 64 of every byte before this line, 16 hex digits>
 * Keys and values hold no TAB, CR or LF. A file whose env differs from the current one is stale. */

#define TUNE_CACHE_MAX_FIELD 1024

typedef struct {
    char *key, *value;
} tune_entry;

typedef struct {
    char env[TUNE_CACHE_MAX_FIELD];
    tune_entry *entries;
    int n, cap;
    int dirty;              /* entries were added since load */
} tune_cache;

void tune_cache_init(tune_cache *c, const char *env);
void tune_cache_free(tune_cache *c);

/* NULL when absent. */
const char *tune_cache_get(const tune_cache *c, const char *key);
/* Adds or replaces; 0 when out of memory or key/value are not storable (TAB, CR, LF, too long). */
int tune_cache_put(tune_cache *c, const char *key, const char *value);

/* Parses text into c (whose env is already set). Returns 1 when loaded; 0 when the text is corrupt,
 * truncated or stale: then c keeps no entries and warn says why. */
int tune_cache_parse(tune_cache *c, const char *text, size_t len, char *warn, size_t warn_len);
/* Serializes c; malloc'ed, NUL-terminated (caller frees); NULL when out of memory. */
char *tune_cache_serialize(const tune_cache *c, size_t *len);

/* tune_cache_parse on a file; a missing or unreadable file is also 0 with a warning. */
int tune_cache_load(tune_cache *c, const char *path, char *warn, size_t warn_len);
/* Writes atomically (temporary file, then rename). 0 with why on failure. */
int tune_cache_save(const tune_cache *c, const char *path, char *why, size_t why_len);

#endif
