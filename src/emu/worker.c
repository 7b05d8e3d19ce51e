/*
** worker.c: the lua_States that run functions, and their threads.
**
** A worker is one lua_State serving one function at one code generation
** (functions never share a state, and an edited file gets fresh workers),
** with its own thread. The caller hands it a job and waits; the worker's
** count hook stops the handler at the deadline, on StopAsyncTask or at
** shutdown, and once tripped it raises on every instruction of every
** coroutine until the call has unwound, so no pcall can swallow it. A
** handler stuck in one long C call never reaches the hook: the caller then
** stops waiting after a grace period, answers for it, and abandons the
** worker, whose thread frees it whenever the call returns. A worker that
** was aborted (timeout, memory, stop) is closed, never reused.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "host_int.h"
#include "preload.h"
#include "util.h"

#define HOOK_EVERY 1000 /* instructions between deadline checks */
#define GRACE_MS 250    /* how long past an abort a stuck C call is waited for */
#define POLL_MAX 0.02   /* seconds fc's event loop may block at once in a function */
#define WAIT_SLICE_MS 20

/* Abandoned workers whose threads still run, in every host of the process. */
static atomic_int runaways;

static worker *get_worker(lua_State *L) { return *(worker **)lua_getextraspace(L); }

/*
** Counts every byte a state holds. While a limit is set, a growth past it
** fails (Lua raises "not enough memory") and the invocation is aborted for
** memory; frees and shrinks never fail, as Lua requires.
*/
static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  worker *w = ud;
  if (!ptr) osize = 0;
  if (nsize == 0) {
    free(ptr);
    w->mem -= osize;
    return NULL;
  }
  if (nsize > osize && w->limit && w->mem - osize + nsize > w->limit) {
    int none = ABORT_NONE;
    atomic_compare_exchange_strong(&w->abort, &none, ABORT_MEMORY);
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (!p) return NULL;
  w->mem = w->mem - osize + nsize;
  if (w->mem > atomic_load_explicit(&w->peak, memory_order_relaxed))
    atomic_store_explicit(&w->peak, w->mem, memory_order_relaxed);
  return p;
}

/* The abort that applies now: one already decided, else the deadline. */
static int check_abort(worker *w) {
  int why = atomic_load(&w->abort);
  if (why || !w->deadline.tv_sec) return why;
  struct timespec t = fc_mono_now();
  if (fc_mono_ms(t, w->deadline) >= 0) {
    int none = ABORT_NONE;
    atomic_compare_exchange_strong(&w->abort, &none, ABORT_TIMEOUT);
  }
  return atomic_load(&w->abort);
}

static void abort_hook(lua_State *L, lua_Debug *ar);

/* Raises the abort; from now on every instruction of this coroutine raises
** again (others do at their next check), until the call has unwound. */
static int raise_abort(lua_State *L, int why) {
  lua_sethook(L, abort_hook, LUA_MASKCOUNT, 1);
  return luaL_error(L, why == ABORT_TIMEOUT  ? "function timed out"
                       : why == ABORT_MEMORY ? "not enough memory"
                                             : "invocation stopped");
}

static void abort_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  int why = check_abort(get_worker(L));
  if (why) raise_abort(L, why);
}

/* Appends to the running invocation's log, keeping only the last
** FC_LOG_TAIL bytes that matter (trimmed in batches). */
void fc_log_append(worker *w, const char *s, size_t n) {
  pthread_mutex_lock(&w->mu);
  if (w->logging) {
    fc_buf *log = &w->lines;
    if (n > FC_LOG_TAIL) {
      s += n - FC_LOG_TAIL;
      n = FC_LOG_TAIL;
    }
    if (log->len + n > LOG_KEEP) {
      size_t keep = log->len > FC_LOG_TAIL ? FC_LOG_TAIL : log->len;
      memmove(log->data, log->data + log->len - keep, keep);
      log->len = keep;
      log->data[keep] = '\0';
    }
    (void)fc_buf_add(log, s, n); /* bounded by LOG_KEEP + FC_LOG_TAIL */
  }
  pthread_mutex_unlock(&w->mu);
}

/* The line of print(...) or ctx.log(...): tostring'ed args, tab-separated. */
static void log_args(lua_State *L, worker *w, const char *prefix, size_t plen) {
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, prefix, plen);
  for (int i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  size_t len;
  const char *line = lua_tolstring(L, -1, &len);
  fc_log_append(w, line, len);
}

/* print inside a function writes to that invocation's log. */
static int l_print(lua_State *L) {
  log_args(L, get_worker(L), "", 0);
  return 0;
}

/*
** A function's standard streams are its invocation's, not the process's
** (fcrun --local runs functions in the client's own process, whose stdout
** may be a script's output): what it writes to stdout or stderr goes to its
** log, as FC captures both, and its stdin is empty, so that a read never
** blocks a worker. io.write, io.read, io.lines() and io.output() follow, and
** io.stdin, io.stdout and io.stderr are one object of this kind.
*/
static int stream_write(lua_State *L, int first) {
  worker *w = get_worker(L);
  for (int i = first, n = lua_gettop(L); i <= n; i++) {
    char num[64];
    size_t len;
    const char *s = num;
    if (lua_type(L, i) == LUA_TNUMBER) {
      len = (size_t)(lua_isinteger(L, i)
                         ? snprintf(num, sizeof num, LUA_INTEGER_FMT, lua_tointeger(L, i))
                         : snprintf(num, sizeof num, LUA_NUMBER_FMT, lua_tonumber(L, i)));
    } else {
      s = luaL_checklstring(L, i, &len);
    }
    fc_log_append(w, s, len);
  }
  return 0;
}

static int l_stream_write(lua_State *L) { /* stream:write(...) -> stream */
  stream_write(L, 2);
  lua_settop(L, 1);
  return 1;
}

static int l_stream_self(lua_State *L) { /* flush, setvbuf: nothing to do */
  lua_settop(L, 1);
  return 1;
}

static int l_stream_read(lua_State *L) { /* stream:read(...): end of file */
  lua_pushnil(L);
  return 1;
}

static int l_stream_lines(lua_State *L) { /* an iterator that ends at once */
  lua_pushcfunction(L, l_stream_read);
  return 1;
}

static int l_stream_close(lua_State *L) {
  return luaL_error(L, "cannot close a standard file");
}

static int l_stream_tostring(lua_State *L) {
  lua_pushliteral(L, "file (the invocation's log)");
  return 1;
}

static int l_io_write(lua_State *L) { /* io.write(...) -> io.stdout */
  stream_write(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  return 1;
}

static int l_io_read(lua_State *L) { return l_stream_read(L); }

static int l_io_lines(lua_State *L) { /* io.lines(): stdin; io.lines(name): the file */
  if (lua_isnoneornil(L, 1)) return l_stream_lines(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

static int l_io_output(lua_State *L) { /* io.output() only: the log */
  if (!lua_isnoneornil(L, 1))
    return luaL_error(L, "io.output: a function's output is its log; write to a file with io.open");
  lua_pushvalue(L, lua_upvalueindex(1));
  return 1;
}

/* Replaces the io functions that use the process's streams (io on top). */
static void own_streams(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"write", l_stream_write}, {"flush", l_stream_self}, {"setvbuf", l_stream_self},
      {"read", l_stream_read},   {"lines", l_stream_lines}, {"close", l_stream_close},
      {NULL, NULL}};
  lua_newtable(L); /* the stream object */
  lua_createtable(L, 0, 2);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_stream_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "stdin");
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "stdout");
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "stderr");
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_io_write, 1);
  lua_setfield(L, -3, "write");
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_io_output, 1);
  lua_setfield(L, -3, "output");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_io_read);
  lua_setfield(L, -2, "read");
  lua_getfield(L, -1, "lines"); /* the original, for files */
  lua_pushcclosure(L, l_io_lines, 1);
  lua_setfield(L, -2, "lines");
}

/* ctx.log(...): a line in FC's recommended format,
** "2023-09-21T09:38:21.265Z <request id> [INFO] message". */
static int l_ctx_log(lua_State *L) {
  worker *w = get_worker(L);
  struct timespec t;
  struct tm tm;
  char prefix[160];
  clock_gettime(CLOCK_REALTIME, &t);
  gmtime_r(&t.tv_sec, &tm);
  int n = snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %.64s [INFO] ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, t.tv_nsec / 1000000, w->job.request_id);
  log_args(L, w, prefix, (size_t)n);
  return 0;
}

/* ctx.sleep(seconds): sleeps without burning CPU, and ends at the deadline
** or on a stop (an emulator extension, for tests). */
static int l_ctx_sleep(lua_State *L) {
  worker *w = get_worker(L);
  double s = luaL_checknumber(L, 1);
  if (!(s >= 0)) s = 0;
  if (s > 1e6) s = 1e6;
  struct timespec end = fc_mono_add(fc_mono_now(), s * 1e3);
  for (;;) {
    int why = check_abort(w);
    if (why) return raise_abort(L, why);
    double left = fc_mono_ms(end, fc_mono_now());
    if (left <= 0) return 0;
    if (left > 10) left = 10;
    struct timespec d = {0, (long)(left * 1e6)};
    nanosleep(&d, NULL);
  }
}

/*
** fc's event loop inside a function (fc.sleep, fc.wait, a chained
** fc.invoke) blocks in http:poll, out of the hook's reach: this wrapper of
** the original poll (upvalue 1) checks the abort before and after, and
** blocks at most POLL_MAX seconds at a time.
*/
static int l_poll_checked(lua_State *L) {
  worker *w = get_worker(L);
  int why = check_abort(w);
  if (why) return raise_abort(L, why);
  lua_Number t = luaL_optnumber(L, 2, 0);
  lua_settop(L, 1);
  lua_pushnumber(L, t > POLL_MAX ? POLL_MAX : t);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, LUA_MULTRET);
  why = check_abort(w);
  if (why) return raise_abort(L, why);
  return lua_gettop(L);
}

/* os.exit in a function would end the whole emulator: refuse it. */
static int l_no_exit(lua_State *L) {
  return luaL_error(L, "os.exit is not available to functions in the emulator");
}

/* {access_key_id, access_key_secret[, security_token]}: the keys this
** emulator accepts, with which a function calls back into it. */
void fc_push_keys(lua_State *L, const fc_host *h) {
  lua_createtable(L, 0, 3);
  lua_pushstring(L, h->key_id);
  lua_setfield(L, -2, "access_key_id");
  lua_pushstring(L, h->key_secret);
  lua_setfield(L, -2, "access_key_secret");
  if (h->token) {
    lua_pushstring(L, h->token);
    lua_setfield(L, -2, "security_token");
  }
}

/* The message of an error record {message, traceback} or of a raw error
** value at idx, into out. Runs with no memory limit. */
int fc_error_message(lua_State *L, int idx, char *out, size_t cap) {
  const char *m = NULL;
  idx = lua_absindex(L, idx);
  if (lua_istable(L, idx)) {
    lua_getfield(L, idx, "message");
    m = lua_tostring(L, -1);
    snprintf(out, cap, "%s", m ? m : "(no message)");
    lua_pop(L, 1);
    return 0;
  }
  m = lua_tostring(L, idx);
  snprintf(out, cap, "%s", m ? m : "not enough memory");
  return 0;
}

/* Everything a state is given, run as one protected call (upvalue-free:
** the host comes as light userdata); see fc_state_new. */
static int setup_main(lua_State *L) {
  fc_host *h = lua_touserdata(L, 1);
  luaL_openlibs(L);
  fc_preload(L);
  lua_pushcfunction(L, l_print);
  lua_setglobal(L, "print");
  lua_getglobal(L, "os");
  lua_pushcfunction(L, l_no_exit);
  lua_setfield(L, -2, "exit");
  lua_pop(L, 1);
  lua_getglobal(L, "io");
  own_streams(L);
  lua_pop(L, 1);
  /* debug could remove the hook: only what reads stays (fc uses both) */
  lua_getglobal(L, "debug");
  lua_createtable(L, 0, 2);
  lua_getfield(L, -2, "traceback");
  lua_setfield(L, -2, "traceback");
  lua_getfield(L, -2, "getinfo");
  lua_setfield(L, -2, "getinfo");
  lua_pushvalue(L, -1);
  lua_setglobal(L, "debug");
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_insert(L, -2);
  lua_setfield(L, -2, "debug");
  lua_pop(L, 2);
  /* fc's http:poll ends at the deadline or stop */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "fc.core");
  lua_call(L, 1, 0);
  if (luaL_getmetatable(L, "fc.core.Http") == LUA_TTABLE &&
      lua_getfield(L, -1, "__index") == LUA_TTABLE) {
    lua_getfield(L, -1, "poll");
    lua_pushcclosure(L, l_poll_checked, 1);
    lua_setfield(L, -2, "poll");
  }
  lua_settop(L, 1);
  if (h) { /* fc points at the emulator itself, with its keys */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "fc");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "configure");
    fc_push_keys(L, h);
    pthread_mutex_lock(&h->lock);
    lua_pushstring(L, h->endpoint ? h->endpoint : "");
    pthread_mutex_unlock(&h->lock);
    lua_setfield(L, -2, "endpoint");
    lua_call(L, 1, 0);
    lua_settop(L, 1);
  }
  /* registry.fcemu = {log = ctx.log, sleep = ctx.sleep, json = cjson.encode} */
  lua_createtable(L, 0, 3);
  lua_pushcfunction(L, l_ctx_log);
  lua_setfield(L, -2, "log");
  lua_pushcfunction(L, l_ctx_sleep);
  lua_setfield(L, -2, "sleep");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "encode");
  lua_setfield(L, -3, "json");
  lua_pop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, "fcemu");
  return 0;
}

lua_State *fc_state_new(worker *w, fc_host *h) {
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) != 0) return NULL;
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int ok = pthread_mutex_init(&w->mu, NULL) == 0;
  if (ok && pthread_cond_init(&w->cv, &ca) != 0) {
    pthread_mutex_destroy(&w->mu);
    ok = 0;
  }
  pthread_condattr_destroy(&ca);
  if (!ok) return NULL;
  fc_buf_init(&w->lines, LOG_KEEP + FC_LOG_TAIL + 1);
  fc_buf_init(&w->job.body, FC_RESPONSE_MAX);
  fc_buf_init(&w->job.trace, 8192);
  atomic_init(&w->abort, ABORT_NONE);
  lua_State *L = lua_newstate(counting_alloc, w);
  if (!L) goto fail;
  *(worker **)lua_getextraspace(L) = w;
  /* installed for good: coroutines inherit it, and nothing can remove it */
  lua_sethook(L, abort_hook, LUA_MASKCOUNT, HOOK_EVERY);
  lua_pushcfunction(L, setup_main);
  lua_pushlightuserdata(L, h);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "fcrun serve: cannot prepare a Lua state for functions: %s\n",
            lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
    lua_close(L);
    goto fail;
  }
  w->L = L;
  return L;
fail:
  fc_buf_free(&w->lines);
  fc_buf_free(&w->job.body);
  fc_buf_free(&w->job.trace);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  return NULL;
}

/* Closes w's state (no Lua code of it can run on: finalizers are aborted at
** once) and frees w. */
void fc_worker_destroy(worker *w) {
  atomic_store(&w->abort, ABORT_STOP);
  w->limit = 0;
  if (w->L) lua_close(w->L);
  fc_buf_free(&w->lines);
  fc_buf_free(&w->job.body);
  fc_buf_free(&w->job.trace);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  free(w);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->has_job && !w->quit) pthread_cond_wait(&w->cv, &w->mu);
    if (w->quit) break;
    pthread_mutex_unlock(&w->mu);
    fc_job_run(w);
    pthread_mutex_lock(&w->mu);
    w->has_job = 0;
    w->done = 1;
    pthread_cond_broadcast(&w->cv);
    if (w->abandoned) break;
  }
  int abandoned = w->abandoned;
  fc_host *h = w->host;
  pthread_mutex_unlock(&w->mu);
  fc_worker_destroy(w);
  if (abandoned) {
    atomic_fetch_sub(&runaways, 1);
  } else {
    pthread_mutex_lock(&h->lock);
    h->nthreads--;
    pthread_cond_broadcast(&h->gone);
    pthread_mutex_unlock(&h->lock);
  }
  return NULL;
}

void fc_worker_close(worker *w) {
  pthread_mutex_lock(&w->mu);
  w->quit = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

static void thread_gone(fc_host *h) {
  pthread_mutex_lock(&h->lock);
  h->nthreads--;
  pthread_cond_broadcast(&h->gone);
  pthread_mutex_unlock(&h->lock);
}

/* A new worker of fn at gen, its thread started; counted in h->nthreads. */
static worker *worker_new(fc_host *h, const char *fn, unsigned long gen) {
  worker *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->host = h;
  w->gen = gen;
  snprintf(w->fn, sizeof w->fn, "%s", fn);
  fc_random_id(w->instance_id, sizeof w->instance_id, "c-", 10);
  if (!fc_state_new(w, h)) {
    free(w);
    return NULL;
  }
  pthread_attr_t a;
  pthread_t t;
  int ok = pthread_attr_init(&a) == 0;
  if (ok) {
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    ok = pthread_create(&t, &a, worker_main, w) == 0;
    pthread_attr_destroy(&a);
  }
  if (!ok) {
    fc_worker_destroy(w);
    return NULL;
  }
  return w;
}

int fc_worker_acquire(fc_host *h, const char *fn, unsigned long gen, worker **out) {
  *out = NULL;
  pthread_mutex_lock(&h->lock);
  fn_entry *e = fc_registry_find(h, fn);
  if (e && e->gen == gen && e->idle) {
    worker *w = e->idle;
    e->idle = w->next;
    pthread_mutex_unlock(&h->lock);
    *out = w;
    return FC_HOST_OK;
  }
  if (h->nthreads + (size_t)atomic_load(&runaways) >= h->max_workers) {
    /* make room: close an idle worker of another function */
    worker *victim = NULL;
    for (size_t i = 0; i < h->nfns && !victim; i++) {
      if ((victim = h->fns[i]->idle) != NULL) h->fns[i]->idle = victim->next;
    }
    if (!victim) {
      pthread_mutex_unlock(&h->lock);
      return FC_HOST_NOWORKER;
    }
    fc_worker_close(victim);
  }
  h->nthreads++;
  pthread_mutex_unlock(&h->lock);
  worker *w = worker_new(h, fn, gen);
  if (!w) {
    thread_gone(h);
    return FC_ENOMEM;
  }
  *out = w;
  return FC_HOST_OK;
}

void fc_worker_release(fc_host *h, worker *w, int reuse) {
  pthread_mutex_lock(&h->lock);
  fn_entry *e = fc_registry_find(h, w->fn);
  if (reuse && !atomic_load(&h->stopping) && e && e->present && e->gen == w->gen) {
    w->next = e->idle;
    e->idle = w;
    w = NULL;
  }
  pthread_mutex_unlock(&h->lock);
  if (w) fc_worker_close(w);
}

int fc_worker_run(fc_host *h, worker *w, atomic_int *stop, int timeout_s, fc_buf *lines_out,
                  fc_run *out) {
  struct timespec now = fc_mono_now(), give_up = {0, 0};
  int aborting = 0;
  struct timespec deadline = fc_mono_add(now, timeout_s * 1e3);
  pthread_mutex_lock(&w->mu);
  w->deadline = deadline;
  w->has_job = 1;
  w->done = 0;
  w->taken = 0;
  pthread_cond_signal(&w->cv);
  while (!w->done) {
    now = fc_mono_now();
    if (!aborting) {
      int why = ABORT_NONE;
      if (atomic_load(&h->stopping) || (stop && atomic_load(stop))) why = ABORT_STOP;
      else if (fc_mono_ms(now, deadline) >= 0) why = ABORT_TIMEOUT;
      if (why) {
        int none = ABORT_NONE;
        atomic_compare_exchange_strong(&w->abort, &none, why);
        give_up = fc_mono_add(now, GRACE_MS);
        aborting = 1;
      }
    } else if (fc_mono_ms(now, give_up) >= 0 && w->taken) {
      /* stuck in C: answer without it; its thread frees it when it returns */
      atomic_fetch_add(&runaways, 1);
      out->why = atomic_load(&w->abort);
      out->peak = atomic_load(&w->peak);
      w->abandoned = 1;
      w->host = NULL;
      fc_buf_reset(lines_out);
      (void)fc_buf_add(lines_out, w->lines.data ? w->lines.data : "", w->lines.len);
      w->logging = 0;
      pthread_mutex_unlock(&w->mu);
      thread_gone(h);
      return 1;
    }
    struct timespec until = fc_mono_add(now, WAIT_SLICE_MS);
    pthread_cond_timedwait(&w->cv, &w->mu, &until);
  }
  pthread_mutex_unlock(&w->mu);
  out->why = atomic_load(&w->abort);
  out->peak = atomic_load(&w->peak);
  fc_buf_reset(lines_out);
  (void)fc_buf_add(lines_out, w->lines.data ? w->lines.data : "", w->lines.len);
  return 0;
}

int fc_workers_wait(fc_host *h, double seconds) {
  struct timespec until = fc_mono_add(fc_mono_now(), seconds * 1e3);
  pthread_mutex_lock(&h->lock);
  for (size_t i = 0; i < h->nfns; i++) {
    while (h->fns[i]->idle) {
      worker *w = h->fns[i]->idle;
      h->fns[i]->idle = w->next;
      fc_worker_close(w);
    }
  }
  while (h->nthreads > 0 && pthread_cond_timedwait(&h->gone, &h->lock, &until) == 0) {
  }
  int all = h->nthreads == 0;
  pthread_mutex_unlock(&h->lock);
  return all ? 0 : -1;
}
