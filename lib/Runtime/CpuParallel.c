/*===- CpuParallel.c - the thread pool of compiled kernels
 *-----------------===//
 *
 * mixtile_parallel_for, which the kernels of mixtile-cpu-vectorize-rows
 * call for their column groups: [0, count) is cut into one contiguous range
 * per thread, each a multiple of `grain` except the last, and the calling
 * thread runs the first range itself. The ranges cover independent output
 * columns, so the results do not depend on the number of threads.
 *
 * The pool starts on first use with MIXTILE_NUM_THREADS threads (default:
 * the online CPUs), the caller included. Workers spin briefly for the next
 * job (kernels of one forward pass follow each other within microseconds)
 * and then sleep on a condition variable. One job runs at a time; calls
 * from several threads at once are serialized. Unloading the library stops
 * and joins the workers (their code goes with it). Plain C11 + POSIX
 * threads.
 *
 *===----------------------------------------------------------------------===*/

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Kept hidden by -fvisibility=hidden: a model library exports only its C
 * interface. */
#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

typedef void (*mixtile_task)(void *context, int64_t begin, int64_t end);

enum { kMaxThreads = 64, kSpinIterations = 20000 };

static struct {
  pthread_once_t once;
  int threads;
  pthread_mutex_t submit; /* one job at a time */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t done;
  /* The current job. */
  mixtile_task task;
  void *context;
  int64_t count, grain;
  atomic_uint generation;
  atomic_int pending;
  /* Set when the library is unloaded. */
  int stopping;
  pthread_t workers[kMaxThreads];
} pool = {.once = PTHREAD_ONCE_INIT,
          .submit = PTHREAD_MUTEX_INITIALIZER,
          .lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};

/* The range of thread `id` of the current job. */
static void runShare(int id) {
  int64_t groups = (pool.count + pool.grain - 1) / pool.grain;
  int64_t first = groups * id / pool.threads;
  int64_t last = groups * (id + 1) / pool.threads;
  int64_t begin = first * pool.grain;
  int64_t end = last * pool.grain < pool.count ? last * pool.grain : pool.count;
  if (begin < end)
    pool.task(pool.context, begin, end);
}

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  unsigned seen = 0;
  for (;;) {
    unsigned generation;
    int spins = 0;
    while ((generation = atomic_load_explicit(&pool.generation,
                                              memory_order_acquire)) == seen &&
           spins < kSpinIterations) {
      CPU_RELAX();
      ++spins;
    }
    if (generation == seen) {
      pthread_mutex_lock(&pool.lock);
      while ((generation = atomic_load_explicit(&pool.generation,
                                                memory_order_acquire)) == seen)
        pthread_cond_wait(&pool.wake, &pool.lock);
      pthread_mutex_unlock(&pool.lock);
    }
    seen = generation;
    if (pool.stopping)
      return NULL;
    runShare(id);
    if (atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_acq_rel) ==
        1) {
      pthread_mutex_lock(&pool.lock);
      pthread_cond_signal(&pool.done);
      pthread_mutex_unlock(&pool.lock);
    }
  }
  return NULL;
}

static void startPool(void) {
  long threads = sysconf(_SC_NPROCESSORS_ONLN);
  const char *setting = getenv("MIXTILE_NUM_THREADS");
  if (setting && atoi(setting) > 0)
    threads = atoi(setting);
  if (threads < 1)
    threads = 1;
  if (threads > kMaxThreads)
    threads = kMaxThreads;
  pool.threads = 1;
  for (long id = 1; id < threads; ++id) {
    /* Fewer threads still compute every column. */
    if (pthread_create(&pool.workers[id], NULL, worker, (void *)(intptr_t)id))
      break;
    pool.threads = (int)id + 1;
  }
}

__attribute__((destructor)) static void stopPool(void) {
  if (pool.threads <= 1)
    return;
  pthread_mutex_lock(&pool.lock);
  pool.stopping = 1;
  atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  for (int id = 1; id < pool.threads; ++id)
    pthread_join(pool.workers[id], NULL);
}

void mixtile_parallel_for(mixtile_task task, void *context, int64_t count,
                          int64_t grain) {
  pthread_once(&pool.once, startPool);
  if (grain < 1)
    grain = 1;
  if (pool.threads == 1 || count <= grain) {
    task(context, 0, count);
    return;
  }
  pthread_mutex_lock(&pool.submit);
  pool.task = task;
  pool.context = context;
  pool.count = count;
  pool.grain = grain;
  atomic_store_explicit(&pool.pending, pool.threads - 1, memory_order_relaxed);
  pthread_mutex_lock(&pool.lock);
  atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  runShare(0);
  int spins = 0;
  while (atomic_load_explicit(&pool.pending, memory_order_acquire) != 0 &&
         spins < kSpinIterations) {
    CPU_RELAX();
    ++spins;
  }
  if (atomic_load_explicit(&pool.pending, memory_order_acquire) != 0) {
    pthread_mutex_lock(&pool.lock);
    while (atomic_load_explicit(&pool.pending, memory_order_acquire) != 0)
      pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
  }
  pthread_mutex_unlock(&pool.submit);
}
