/* test_threadpool.c — the thread pool: chunking, thread ids, nesting, wake-ups after sleeping, errors. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <time.h>
#include "testutil.h"
#include "../../runtime/threadpool.h"

#define MAX_CHUNKS 64

typedef struct {
    atomic_int *hits;          /* per index: times visited */
    atomic_int calls;
    int64_t begin[MAX_CHUNKS], end[MAX_CHUNKS]; /* by thread id */
    atomic_int thread_seen[MAX_CHUNKS];
} record;

static void record_fn(void *p, int64_t begin, int64_t end, int thread) {
    record *r = p;
    atomic_fetch_add(&r->calls, 1);
    atomic_fetch_add(&r->thread_seen[thread], 1);
    r->begin[thread] = begin;
    r->end[thread] = end;
    for (int64_t i = begin; i < end; i++) atomic_fetch_add(&r->hits[i], 1);
}

/* Runs one parallel_for and checks the chunking contract; returns the number of chunks. */
static int check_split(thread_pool *pool, int64_t n, int64_t grain) {
    record r;
    memset(&r, 0, sizeof r);
    r.hits = calloc((size_t)(n > 0 ? n : 1), sizeof *r.hits);
    pool_parallel_for(pool, n, grain, record_fn, &r);
    int calls = atomic_load(&r.calls);
    int threads = pool_size(pool);
    for (int64_t i = 0; i < n; i++) cr_assert_eq(atomic_load(&r.hits[i]), 1, "n=%ld grain=%ld: index %ld visited %d times",
                                                 (long)n, (long)grain, (long)i, atomic_load(&r.hits[i]));
    if (n <= 0) cr_assert_eq(calls, 0);
    else {
        cr_assert(calls >= 1 && calls <= threads, "%d chunks for %d threads", calls, threads);
        int64_t next = 0;
        for (int t = 0; t < calls; t++) {
            cr_assert_eq(atomic_load(&r.thread_seen[t]), 1, "thread %d ran %d chunks", t, atomic_load(&r.thread_seen[t]));
            cr_assert_eq(r.begin[t], next, "chunk %d is not contiguous", t);
            if (calls > 1) cr_assert(r.end[t] - r.begin[t] >= grain, "chunk %d smaller than grain", t);
            next = r.end[t];
        }
        cr_assert_eq(next, n);
    }
    free(r.hits);
    return calls;
}

Test(threadpool, null_pool_and_single_thread_run_on_caller) {
    cr_assert_eq(pool_size(NULL), 1);
    cr_assert_eq(check_split(NULL, 100, 1), 1);
    thread_pool *pool;
    infer_error err;
    cr_assert_eq(pool_create(1, &pool, &err), INFER_OK);
    cr_assert_eq(pool_size(pool), 1);
    cr_assert_eq(check_split(pool, 100, 1), 1);
    pool_destroy(pool);
    pool_destroy(NULL);
}

Test(threadpool, splits_into_contiguous_chunks_of_at_least_grain) {
    int sizes[] = { 2, 3, 4, 7 };
    for (int s = 0; s < 4; s++) {
        thread_pool *pool;
        infer_error err;
        cr_assert_eq(pool_create(sizes[s], &pool, &err), INFER_OK, "%s", err.message);
        cr_assert_eq(pool_size(pool), sizes[s]);
        cr_assert_eq(check_split(pool, 0, 1), 0);
        cr_assert_eq(check_split(pool, 1, 1), 1);
        cr_assert_eq(check_split(pool, 1000, 1), sizes[s]);
        cr_assert_eq(check_split(pool, 13, 5), 2 < sizes[s] ? 2 : sizes[s]);
        cr_assert_eq(check_split(pool, 10, 10), 1);
        cr_assert_eq(check_split(pool, 127, 0), sizes[s]);
        check_split(pool, 31, 3);
        pool_destroy(pool);
    }
}

typedef struct {
    thread_pool *pool;
    atomic_int inner_calls;
    atomic_int inner_bad;
} nest_arg;

static void inner_fn(void *p, int64_t begin, int64_t end, int thread) {
    nest_arg *a = p;
    atomic_fetch_add(&a->inner_calls, 1);
    if (begin != 0 || end != 50 || thread != 0) atomic_fetch_add(&a->inner_bad, 1);
}

static void outer_fn(void *p, int64_t begin, int64_t end, int thread) {
    (void)thread;
    nest_arg *a = p;
    for (int64_t i = begin; i < end; i++) pool_parallel_for(a->pool, 50, 1, inner_fn, a);
}

Test(threadpool, nested_call_runs_serially) {
    nest_arg a;
    memset(&a, 0, sizeof a);
    infer_error err;
    cr_assert_eq(pool_create(2, &a.pool, &err), INFER_OK);
    pool_parallel_for(a.pool, 8, 1, outer_fn, &a);
    cr_assert_eq(atomic_load(&a.inner_calls), 8);
    cr_assert_eq(atomic_load(&a.inner_bad), 0);
    pool_destroy(a.pool);
}

static void sum_fn(void *p, int64_t begin, int64_t end, int thread) {
    (void)thread;
    atomic_long *sum = p;
    long s = 0;
    for (int64_t i = begin; i < end; i++) s += i;
    atomic_fetch_add(sum, s);
}

Test(threadpool, many_small_jobs_and_wakeups_after_sleep) {
    thread_pool *pool;
    infer_error err;
    cr_assert_eq(pool_create(3, &pool, &err), INFER_OK);
    for (int rep = 0; rep < 3000; rep++) {
        atomic_long sum = 0;
        int64_t n = 1 + rep % 37;
        pool_parallel_for(pool, n, 1, sum_fn, &sum);
        cr_assert_eq(atomic_load(&sum), n * (n - 1) / 2, "rep %d", rep);
    }
    /* Let the workers fall asleep on their condition variables, then wake them. */
    for (int rep = 0; rep < 5; rep++) {
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        atomic_long sum = 0;
        pool_parallel_for(pool, 1000, 1, sum_fn, &sum);
        cr_assert_eq(atomic_load(&sum), 1000L * 999 / 2);
    }
    pool_destroy(pool);
}

Test(threadpool, rejects_bad_thread_count) {
    thread_pool *pool = (thread_pool *)&pool;
    infer_error err;
    cr_assert_eq(pool_create(0, &pool, &err), INFER_ERR_ARGUMENT);
    cr_assert_null(pool);
    cr_assert(strstr(err.message, "0 threads") != NULL, "%s", err.message);
    cr_assert(cpu_online_cores() >= 1);
}
