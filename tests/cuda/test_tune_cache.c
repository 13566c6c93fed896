/* test_tune_cache.c — the tuning cache file (no GPU needed): round trip, corrupt, stale, truncated, missing. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../runtime/cuda/tune_cache.h"

#define ENV "gpu=NVIDIA H100;cc=9.0;driver=13000;cudart=13000;cublaslt=130100;cudnn=91900"

static tune_cache filled(void) {
    tune_cache c;
    tune_cache_init(&c, ENV);
    cr_assert(tune_cache_put(&c, "gemm|fp32|64,128,256|tb1", "00000000000000010000000000000002"));
    cr_assert(tune_cache_put(&c, "conv|fp16|1,3,224,224|64,3,7,7", "1,1"));
    cr_assert(tune_cache_put(&c, "conv|fp32|8,64,56,56|64,64,3,3", "6,2"));
    return c;
}

Test(tune_cache, round_trip_in_memory) {
    tune_cache c = filled();
    size_t len = 0;
    char *text = tune_cache_serialize(&c, &len);
    cr_assert(text && len == strlen(text));
    tune_cache d;
    tune_cache_init(&d, ENV);
    char warn[512] = "";
    cr_assert_eq(tune_cache_parse(&d, text, len, warn, sizeof warn), 1, "%s", warn);
    cr_assert_eq(d.n, 3);
    cr_assert_str_eq(tune_cache_get(&d, "conv|fp16|1,3,224,224|64,3,7,7"), "1,1");
    cr_assert_str_eq(tune_cache_get(&d, "gemm|fp32|64,128,256|tb1"), "00000000000000010000000000000002");
    cr_assert_null(tune_cache_get(&d, "nope"));
    cr_assert_eq(d.dirty, 0);
    free(text);
    tune_cache_free(&c);
    tune_cache_free(&d);
}

Test(tune_cache, put_replaces_and_refuses_bad_fields) {
    tune_cache c = filled();
    cr_assert(tune_cache_put(&c, "conv|fp16|1,3,224,224|64,3,7,7", "2,1"));
    cr_assert_eq(c.n, 3);
    cr_assert_str_eq(tune_cache_get(&c, "conv|fp16|1,3,224,224|64,3,7,7"), "2,1");
    cr_assert_eq(tune_cache_put(&c, "bad\tkey", "v"), 0);
    cr_assert_eq(tune_cache_put(&c, "key", "bad\nvalue"), 0);
    cr_assert_eq(tune_cache_put(&c, "", "v"), 0);
    tune_cache_free(&c);
}

static int parse(const char *text, size_t len, char *warn, size_t n, int *entries) {
    tune_cache d;
    tune_cache_init(&d, ENV);
    int ok = tune_cache_parse(&d, text, len, warn, n);
    *entries = d.n;
    tune_cache_free(&d);
    return ok;
}

Test(tune_cache, every_truncation_is_refused) {
    tune_cache c = filled();
    size_t len = 0;
    char *text = tune_cache_serialize(&c, &len);
    for (size_t cut = 0; cut < len; cut++) {
        char warn[512] = "";
        int entries = -1;
        cr_assert_eq(parse(text, cut, warn, sizeof warn, &entries), 0, "truncated at %zu was accepted", cut);
        cr_assert_eq(entries, 0);
        cr_assert(warn[0], "no warning at %zu", cut);
    }
    free(text);
    tune_cache_free(&c);
}

Test(tune_cache, every_flipped_byte_is_refused) {
    tune_cache c = filled();
    size_t len = 0;
    char *text = tune_cache_serialize(&c, &len);
    for (size_t i = 0; i < len; i++) {
        char *bad = malloc(len);
        memcpy(bad, text, len);
        bad[i] ^= 0x01;
        char warn[512] = "";
        int entries = -1;
        cr_assert_eq(parse(bad, len, warn, sizeof warn, &entries), 0, "flip at %zu ('%c') was accepted", i, text[i]);
        cr_assert_eq(entries, 0);
        free(bad);
    }
    free(text);
    tune_cache_free(&c);
}

Test(tune_cache, stale_environment_is_ignored) {
    tune_cache c = filled();
    size_t len = 0;
    char *text = tune_cache_serialize(&c, &len);
    tune_cache d;
    tune_cache_init(&d, "gpu=NVIDIA A100;cc=8.0;driver=12000;cudart=12000;cublaslt=120000;cudnn=90000");
    char warn[1200] = "";
    cr_assert_eq(tune_cache_parse(&d, text, len, warn, sizeof warn), 0);
    cr_assert_eq(d.n, 0);
    cr_assert(strstr(warn, "stale"), "warning: %s", warn);
    free(text);
    tune_cache_free(&c);
    tune_cache_free(&d);
}

Test(tune_cache, garbage_and_trailing_data_are_refused) {
    char warn[512];
    int entries;
    const char *g1 = "hello\n";
    cr_assert_eq(parse(g1, strlen(g1), warn, sizeof warn, &entries), 0);
    cr_assert_eq(parse("", 0, warn, sizeof warn, &entries), 0);
    tune_cache c = filled();
    size_t len = 0;
    char *text = tune_cache_serialize(&c, &len);
    char *more = malloc(len + 8);
    memcpy(more, text, len);
    memcpy(more + len, "entry\tx\n", 8);
    cr_assert_eq(parse(more, len + 8, warn, sizeof warn, &entries), 0);
    free(more);
    free(text);
    tune_cache_free(&c);
}

Test(tune_cache, file_save_load_missing_and_truncated) {
    char path[] = "/tmp/infer_tune_cache_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    tune_cache c = filled();
    char why[512] = "";
    cr_assert(tune_cache_save(&c, path, why, sizeof why), "%s", why);
    tune_cache d;
    tune_cache_init(&d, ENV);
    char warn[1400] = "";
    cr_assert_eq(tune_cache_load(&d, path, warn, sizeof warn), 1, "%s", warn);
    cr_assert_eq(d.n, 3);
    tune_cache_free(&d);

    /* truncate the file on disk */
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(path, "wb");
    fwrite(buf, 1, n - 5, f);
    fclose(f);
    tune_cache_init(&d, ENV);
    cr_assert_eq(tune_cache_load(&d, path, warn, sizeof warn), 0);
    cr_assert(strstr(warn, "ignored"), "warning: %s", warn);
    cr_assert_eq(d.n, 0);
    tune_cache_free(&d);

    remove(path);
    tune_cache_init(&d, ENV);
    cr_assert_eq(tune_cache_load(&d, path, warn, sizeof warn), 0);
    cr_assert(strstr(warn, "starting empty"), "warning: %s", warn);
    tune_cache_free(&d);
    tune_cache_free(&c);
}

/* Two engines of one process saving one cache at once (two threads): each save goes through a temporary
 * file of its own, so the file is always one whole save, never a mix; no temporary file is left behind. */
typedef struct {
    const char *path;
    int id, saved;
} save_job;

static void *save_main(void *arg) {
    save_job *j = arg;
    tune_cache c;
    tune_cache_init(&c, ENV);
    for (int i = 0; i < 200; i++) { /* different sizes, so interleaved writes would show */
        char key[64];
        snprintf(key, sizeof key, "conv|fp32|thread%d|%d", j->id, i);
        tune_cache_put(&c, key, j->id ? "1,1" : "6,2");
        char why[256];
        j->saved += tune_cache_save(&c, j->path, why, sizeof why);
    }
    tune_cache_free(&c);
    return NULL;
}

Test(tune_cache, concurrent_saves_never_mix) {
    char dir[] = "/tmp/infer_tune_dir_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/cache.txt", dir);
    save_job jobs[2] = { { path, 0, 0 }, { path, 1, 0 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&th[i], NULL, save_main, &jobs[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    cr_expect_eq(jobs[0].saved, 200);
    cr_expect_eq(jobs[1].saved, 200);
    tune_cache c;
    tune_cache_init(&c, ENV);
    char warn[512] = "";
    cr_expect_eq(tune_cache_load(&c, path, warn, sizeof warn), 1, "the cache is one whole save: %s", warn);
    cr_expect_eq(c.n, 200, "entries: %d", c.n);
    tune_cache_free(&c);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int files = -1;
    cr_assert(p && fscanf(p, "%d", &files) == 1);
    pclose(p);
    cr_expect_eq(files, 1, "no temporary file left");
    remove(path);
    rmdir(dir);
}
