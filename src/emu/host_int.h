/*
** host_int.h: what the host's three parts share (not for emu.c or tasks.c).
**   registry.c  functions: stat, settings, refresh, list
**   worker.c    lua_States: allocator, hook, print/ctx, threads, per-function pools
**   invoke.c    one invocation: the protected call, result, error body, tail log
*/
#ifndef FC_EMU_HOST_INT_H
#define FC_EMU_HOST_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

#include <lua.h>

#include "host.h"

#define CODE_MAX (16u << 20) /* largest NAME.lua read */
#define LOG_KEEP (2 * FC_LOG_TAIL)

enum { ABORT_NONE, ABORT_TIMEOUT, ABORT_STOP, ABORT_MEMORY };

typedef struct worker worker;

/* A function's registry entry; info is copied out under the host's lock. */
typedef struct fn_entry {
  fc_fn_info info;
  unsigned long gen; /* changes whenever the file is (re)loaded */
  struct timespec mtime;
  off_t size;
  ino_t ino;
  int present;
  int inflight;
  worker *idle; /* idle workers of this function, all of generation gen */
} fn_entry;

struct fc_host {
  char *dir;
  char *key_id, *key_secret, *token;
  char *endpoint;
  atomic_int stopping;
  atomic_ulong next_gen;
  pthread_mutex_t lock; /* fns, their idle lists, nthreads */
  pthread_cond_t gone;  /* a worker thread ended */
  fn_entry **fns;
  size_t nfns, capfns;
  size_t nthreads, max_workers; /* worker threads the host owns */
};

/* What a worker thread runs, and what it leaves for the caller. Owned by the
** worker: an abandoned worker may still write here after its caller left. */
typedef struct job {
  char function_name[FC_FN_NAME_MAX + 1];
  char qualifier[130];
  char request_id[64];
  char load_error[512];
  const char *payload; /* the caller's: read before `taken` is set */
  size_t payload_len;
  double deadline_epoch;
  int timeout_s;
  size_t memory_limit;
  /* results */
  int status;          /* lua_pcall's */
  int phase;           /* where it failed: PHASE_* */
  fc_buf body;
  const char *content_type;
  char error_message[512];
  fc_buf trace;        /* the traceback of a function error */
} job;

enum { PHASE_LOAD, PHASE_HANDLER, PHASE_RESULT };

struct worker {
  lua_State *L;
  fc_host *host; /* NULL once abandoned, and for a scratch state */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int has_job, done, quit, abandoned, taken, logging;
  job job;
  /* memory and hook state */
  size_t mem, limit;
  atomic_size_t peak; /* read by the caller */
  struct timespec deadline; /* CLOCK_MONOTONIC; tv_sec 0: none */
  atomic_int abort;
  fc_buf lines; /* the running invocation's log lines (under mu) */
  char fn[FC_FN_NAME_MAX + 1];
  unsigned long gen;
  char instance_id[48];
  struct worker *next;
};

/* registry.c */
fn_entry *fc_registry_find(fc_host *h, const char *name);
int fc_registry_refresh_locked(fc_host *h, const char *name, fc_fn_info *info, unsigned long *gen);
int fc_read_file(const char *path, fc_buf *out, const char **err);

/* worker.c */
/* A lua_State for w (libraries, fc preloaded and configured, print bound to
** w's log, os.exit refused, no debug library, the abort hook installed). */
lua_State *fc_state_new(worker *w, fc_host *h);
void fc_log_append(worker *w, const char *s, size_t n);
int fc_error_message(lua_State *L, int idx, char *out, size_t cap);
void fc_push_keys(lua_State *L, const fc_host *h);
/* A worker of function fn at generation gen (from the pool, or new). */
int fc_worker_acquire(fc_host *h, const char *fn, unsigned long gen, worker **out);
/* Back to its function's pool, or closed when it must not be reused. */
void fc_worker_release(fc_host *h, worker *w, int reuse);
/* Runs w->job on w's thread and waits for it until the deadline (plus a
** grace period), stop, or shutdown; 1 when the worker had to be abandoned
** (it is then no longer the caller's). */
typedef struct fc_run {
  int why;     /* ABORT_* */
  size_t peak; /* bytes */
} fc_run;
int fc_worker_run(fc_host *h, worker *w, atomic_int *stop, int timeout_s, fc_buf *lines_out,
                  fc_run *out);
void fc_worker_close(worker *w);
/* Closes a state made by fc_state_new without a thread, and frees w. */
void fc_worker_destroy(worker *w);
/* Waits (bounded) for every worker thread to end; 0 when they all did. */
int fc_workers_wait(fc_host *h, double seconds);

/* invoke.c: the protected body of an invocation, run on the worker thread. */
void fc_job_run(worker *w);

#endif
