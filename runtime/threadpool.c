/* threadpool.c — persistent worker threads, spin-then-sleep wake-ups, contiguous chunks claimed dynamically. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../base/error.h"
#include "threadpool.h"

/* Polls before a thread blocks on its condition variable: long enough to bridge the gap between
 * consecutive small ops, short enough not to burn a core while the pool is idle. After the busy
 * rounds a waiter yields its core each round, so an oversubscribed machine still makes progress. */
#define POOL_BUSY_ROUNDS 2000
#define POOL_SPIN_ROUNDS 2100

/* A range is cut into up to this many chunks per thread (each at least grain items), claimed dynamically:
 * when a core is shared with another process, or the hypervisor takes it away for a while, the other
 * threads take over the chunks the slow one has not reached, instead of waiting for its one big share. */
#define POOL_CHUNKS_PER_THREAD 4

typedef struct {
    _Alignas(64) atomic_uint_least64_t ticket; /* number of the last job posted to this worker */
    atomic_int sleeping;                       /* set under mu while blocked on cv */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t tid;
    struct thread_pool *pool;
    int index; /* 1..threads-1: the thread id fn sees */
} pool_worker;

/* Chunks are claimed, not assigned: whichever thread is free takes the next one, so a worker that
 * the OS has not scheduled yet delays nothing (the caller runs its chunks). The claim word packs
 * the job number, the job's chunk count and the next chunk: a worker woken for an old job fails to
 * claim anything of a newer one. */
#define CLAIM(job, chunks, next) (((uint64_t)(job) << 32) | ((uint64_t)(chunks) << 16) | (uint64_t)(next))

struct thread_pool {
    int threads;
    int started; /* workers created */
    pool_worker *workers; /* threads - 1 of them */
    uint32_t job;         /* jobs posted so far (caller side only); never 0 once posted */
    /* The current job, written by the caller before its claim word is published. */
    pool_fn fn;
    void *arg;
    int64_t n;
    _Alignas(64) atomic_uint_least64_t claim;
    _Alignas(64) atomic_int done; /* chunks of the current job finished */
    atomic_int caller_sleeping;
    atomic_int stop;
    pthread_mutex_t done_mu;
    pthread_cond_t done_cv;
};

static _Thread_local int pool_in_task;

static inline void spin_round(int i) {
    if (i >= POOL_BUSY_ROUNDS) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
    else __builtin_ia32_pause();
#endif
}

static int64_t chunk_begin(int64_t n, int chunks, int i) { return (int64_t)((__int128)n * i / chunks); }

/* The next unclaimed chunk of job `job` (and the job's chunk count), or -1 when none is left or the
 * pool has moved on to another job. */
static int claim_chunk(thread_pool *pool, uint32_t job, int *chunks) {
    uint64_t v = atomic_load(&pool->claim);
    for (;;) {
        int next = (int)(v & 0xFFFF);
        *chunks = (int)((v >> 16) & 0xFFFF);
        if ((uint32_t)(v >> 32) != job || next >= *chunks) return -1;
        if (atomic_compare_exchange_weak(&pool->claim, &v, v + 1)) return next;
    }
}

/* Runs claimed chunks of job until none is left; thread is the id fn sees. */
static void run_claims(thread_pool *pool, uint32_t job, int thread) {
    int chunks, i;
    while ((i = claim_chunk(pool, job, &chunks)) >= 0) {
        pool_in_task = 1;
        pool->fn(pool->arg, chunk_begin(pool->n, chunks, i), chunk_begin(pool->n, chunks, i + 1), thread);
        pool_in_task = 0;
        if (atomic_fetch_add(&pool->done, 1) + 1 == chunks && thread != 0 && atomic_load(&pool->caller_sleeping)) {
            pthread_mutex_lock(&pool->done_mu);
            pthread_cond_signal(&pool->done_cv);
            pthread_mutex_unlock(&pool->done_mu);
        }
    }
}

/* Waits until the worker's ticket moves past seen (or the pool stops); returns the new ticket. */
static uint64_t wait_for_job(pool_worker *w, uint64_t seen) {
    thread_pool *pool = w->pool;
    for (int i = 0; i < POOL_SPIN_ROUNDS; i++) {
        uint64_t t = atomic_load_explicit(&w->ticket, memory_order_acquire);
        if (t != seen || atomic_load_explicit(&pool->stop, memory_order_relaxed)) return t;
        spin_round(i);
    }
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->sleeping, 1); /* seq_cst: pairs with the poster's store of ticket then load of sleeping */
    uint64_t t;
    while ((t = atomic_load(&w->ticket)) == seen && !atomic_load(&pool->stop)) pthread_cond_wait(&w->cv, &w->mu);
    atomic_store(&w->sleeping, 0);
    pthread_mutex_unlock(&w->mu);
    return t;
}

static void *worker_main(void *p) {
    pool_worker *w = p;
    thread_pool *pool = w->pool;
    uint64_t seen = 0;
    for (;;) {
        seen = wait_for_job(w, seen);
        if (atomic_load(&pool->stop)) return NULL;
        run_claims(pool, (uint32_t)seen, w->index);
    }
}

static void post_job(pool_worker *w, uint64_t job) {
    atomic_store(&w->ticket, job);
    if (atomic_load(&w->sleeping)) {
        pthread_mutex_lock(&w->mu);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

static void wait_for_chunks(thread_pool *pool, int chunks) {
    for (int i = 0; i < POOL_SPIN_ROUNDS; i++) {
        if (atomic_load_explicit(&pool->done, memory_order_acquire) == chunks) return;
        spin_round(i);
    }
    pthread_mutex_lock(&pool->done_mu);
    atomic_store(&pool->caller_sleeping, 1);
    while (atomic_load(&pool->done) != chunks) pthread_cond_wait(&pool->done_cv, &pool->done_mu);
    atomic_store(&pool->caller_sleeping, 0);
    pthread_mutex_unlock(&pool->done_mu);
}

static void stop_workers(thread_pool *pool) {
    atomic_store(&pool->stop, 1);
    for (int i = 0; i < pool->started; i++) {
        pool_worker *w = &pool->workers[i];
        pthread_mutex_lock(&w->mu);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    for (int i = 0; i < pool->started; i++) pthread_join(pool->workers[i].tid, NULL);
    for (int i = 0; i < pool->threads - 1; i++) {
        pthread_mutex_destroy(&pool->workers[i].mu);
        pthread_cond_destroy(&pool->workers[i].cv);
    }
    pool->started = 0;
}

infer_status pool_create(int threads, thread_pool **out, infer_error *err) {
    *out = NULL;
    if (threads < 1 || threads > 4096) /* the claim word holds chunk counts below 65536 */
        return infer_fail(err, INFER_ERR_ARGUMENT, "thread pool: %d threads requested (1..4096 allowed)", threads);
    thread_pool *pool = aligned_alloc(64, sizeof *pool);
    pool_worker *workers = threads > 1 ? aligned_alloc(64, sizeof *workers * (size_t)(threads - 1)) : NULL;
    if (!pool || (threads > 1 && !workers)) {
        free(pool);
        free(workers);
        return infer_fail(err, INFER_ERR_MEMORY, "thread pool: out of memory for %d threads", threads);
    }
    memset(pool, 0, sizeof *pool);
    pool->threads = threads;
    pool->workers = workers;
    atomic_init(&pool->claim, 0);
    atomic_init(&pool->done, 0);
    atomic_init(&pool->caller_sleeping, 0);
    atomic_init(&pool->stop, 0);
    pthread_mutex_init(&pool->done_mu, NULL);
    pthread_cond_init(&pool->done_cv, NULL);
    for (int i = 0; i < threads - 1; i++) {
        pool_worker *w = &workers[i];
        memset(w, 0, sizeof *w);
        atomic_init(&w->ticket, 0);
        atomic_init(&w->sleeping, 0);
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        w->pool = pool;
        w->index = i + 1;
    }
    /* Workers block every signal so that the application's handlers run on its own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (int i = 0; i < threads - 1 && rc == 0; i++) {
        rc = pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]);
        if (rc == 0) pool->started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        int started = pool->started;
        pool_destroy(pool);
        return infer_fail(err, INFER_ERR_RUNTIME, "thread pool: creating worker thread %d of %d failed: %s",
                          started + 1, threads - 1, strerror(rc));
    }
    *out = pool;
    return INFER_OK;
}

void pool_destroy(thread_pool *pool) {
    if (!pool) return;
    stop_workers(pool);
    pthread_mutex_destroy(&pool->done_mu);
    pthread_cond_destroy(&pool->done_cv);
    free(pool->workers);
    free(pool);
}

int pool_size(const thread_pool *pool) { return pool ? pool->threads : 1; }

void pool_parallel_for(thread_pool *pool, int64_t n, int64_t grain, pool_fn fn, void *arg) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t max_chunks = n / grain, want = pool ? (int64_t)pool->threads * POOL_CHUNKS_PER_THREAD : 1;
    int chunks = pool && pool->threads > 1 && !pool_in_task ? (int)(max_chunks < want ? max_chunks : want) : 1;
    if (chunks <= 1) {
        fn(arg, 0, n, 0);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    atomic_store(&pool->done, 0);
    pool->job = pool->job == UINT32_MAX ? 1 : pool->job + 1;
    atomic_store(&pool->claim, CLAIM(pool->job, chunks, 0));
    int helpers = chunks < pool->threads ? chunks - 1 : pool->threads - 1;
    for (int i = 0; i < helpers; i++) post_job(&pool->workers[i], pool->job);
    run_claims(pool, pool->job, 0);
    wait_for_chunks(pool, chunks);
}

int cpu_online_cores(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
