/* test_threadpool.c — the thread pool: chunking, thread ids, nesting, wake-ups after sleeping, errors. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <time.h>
#include "testutil.h"
#include "../../runtime/threadpool.h"

#define MAX_CHUNKS 64
#define PER_THREAD 4 /* chunks per thread the pool cuts a large range into (threadpool.c) */

typedef struct {
    atomic_int *hits;          /* per index: times visited */
    atomic_int calls;
    int64_t begin[MAX_CHUNKS], end[MAX_CHUNKS]; /* per call, in arrival order */
    int thread[MAX_CHUNKS];
} record;

static void record_fn(void *p, int64_t begin, int64_t end, int thread) {
    record *r = p;
    int call = atomic_fetch_add(&r->calls, 1);
    if (call < MAX_CHUNKS) {
        r->begin[call] = begin;
        r->end[call] = end;
        r->thread[call] = thread;
    }
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
        cr_assert(calls >= 1 && calls <= threads * PER_THREAD, "%d chunks for %d threads", calls, threads);
        /* chunks tile [0, n) contiguously: each begins where another ends, each at least grain long */
        for (int c = 0; c < calls; c++) {
            cr_assert(r.thread[c] >= 0 && r.thread[c] < threads, "thread id %d of %d", r.thread[c], threads);
            if (calls > 1) cr_assert(r.end[c] - r.begin[c] >= grain, "chunk [%ld,%ld) smaller than grain",
                                     (long)r.begin[c], (long)r.end[c]);
            int follows = r.begin[c] == 0;
            for (int d = 0; d < calls && !follows; d++) follows = r.end[d] == r.begin[c];
            cr_assert(follows, "chunk [%ld,%ld) is not contiguous with another", (long)r.begin[c], (long)r.end[c]);
        }
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
        cr_assert_eq(check_split(pool, 1000, 1), sizes[s] * PER_THREAD);
        cr_assert_eq(check_split(pool, 13, 5), 2);
        cr_assert_eq(check_split(pool, 10, 10), 1);
        cr_assert_eq(check_split(pool, 127, 0), sizes[s] * PER_THREAD);
        cr_assert_eq(check_split(pool, 5, 1), 5 < sizes[s] * PER_THREAD ? 5 : sizes[s] * PER_THREAD);
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

typedef struct {
    atomic_int on_caller;
    atomic_long sum;
} busy_arg;

static void slow_fn(void *p, int64_t begin, int64_t end, int thread) {
    busy_arg *a = p;
    if (thread == 0) atomic_fetch_add(&a->on_caller, 1);
    long s = 0;
    for (int64_t i = begin; i < end; i++) s += i;
    atomic_fetch_add(&a->sum, s);
}

/* More threads than cores: workers the OS has not scheduled leave their chunks to the caller, and
 * every chunk still runs exactly once. */
Test(threadpool, oversubscribed_pool_completes_every_chunk) {
    thread_pool *pool;
    infer_error err;
    int threads = 4 * cpu_online_cores();
    cr_assert_eq(pool_create(threads, &pool, &err), INFER_OK);
    long caller_chunks = 0;
    for (int rep = 0; rep < 500; rep++) {
        busy_arg a;
        memset(&a, 0, sizeof a);
        pool_parallel_for(pool, 4096, 1, slow_fn, &a);
        cr_assert_eq(atomic_load(&a.sum), 4096L * 4095 / 2, "rep %d", rep);
        caller_chunks += atomic_load(&a.on_caller);
    }
    cr_assert(caller_chunks >= 500, "the caller ran %ld chunks in 500 jobs", caller_chunks);
    pool_destroy(pool);
}

typedef struct {
    atomic_int chunks[2]; /* chunks run by the caller and by the worker */
} stall_arg;

/* The worker's first chunk stalls (as a thread does whose core the OS gave to another process). */
static void stall_fn(void *p, int64_t begin, int64_t end, int thread) {
    stall_arg *a = p;
    (void)begin;
    (void)end;
    if (thread != 0 && atomic_fetch_add(&a->chunks[1], 1) == 0) {
        struct timespec t = { 0, 50 * 1000 * 1000 };
        nanosleep(&t, NULL);
    } else if (thread == 0) {
        atomic_fetch_add(&a->chunks[0], 1);
    }
}

/* A range is cut into more chunks than threads, claimed dynamically: while one thread is stalled, the other
 * takes every chunk it has not reached, instead of waiting with half of the work left. */
Test(threadpool, stalled_worker_leaves_its_unclaimed_chunks_to_the_caller) {
    thread_pool *pool;
    infer_error err;
    cr_assert_eq(pool_create(2, &pool, &err), INFER_OK);
    stall_arg a;
    memset(&a, 0, sizeof a);
    pool_parallel_for(pool, 2 * PER_THREAD, 1, stall_fn, &a);
    int caller = atomic_load(&a.chunks[0]), worker = atomic_load(&a.chunks[1]);
    cr_assert_eq(caller + worker, 2 * PER_THREAD);
    cr_assert(worker <= 1, "the stalled worker ran %d chunks, the caller %d", worker, caller);
    pool_destroy(pool);
}
