/* threadpool.h — a persistent pool of worker threads owned by one engine (no global pool). */
#ifndef INFER_THREADPOOL_H
#define INFER_THREADPOOL_H

#include <stdint.h>
#include "infer.h"

typedef struct thread_pool thread_pool;

/* fn runs on [begin, end) of the range; thread is 0..pool_size-1 (0 is the calling thread). */
typedef void (*pool_fn)(void *arg, int64_t begin, int64_t end, int thread);

/* threads: total including the caller (1: no workers). */
infer_status pool_create(int threads, thread_pool **pool, infer_error *err);
void pool_destroy(thread_pool *pool);
int pool_size(const thread_pool *pool); /* 1 for a NULL pool */

/* Splits [0, n) into chunks of at least grain items (up to a few per thread, claimed by whichever thread is
 * free, so fn must not assume one chunk per thread) and waits for all of them.
 * A NULL pool, n <= grain or a nested call from inside a task runs fn(arg, 0, n, 0) on the caller. */
void pool_parallel_for(thread_pool *pool, int64_t n, int64_t grain, pool_fn fn, void *arg);

int cpu_online_cores(void);

#endif
