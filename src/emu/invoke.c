/*
** invoke.c: one invocation. The caller checks the function and its
** concurrency, borrows a worker of that function and waits for it; on the
** worker's thread the whole call (loading the handler, pushing the payload
** and ctx, the handler, taking its result) is one protected C function, as
** lua.c's pmain, so a memory-limit breach anywhere is a function error. The
** answer is FC's: the output, or an error body, and the tail log.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "host_int.h"
#include "util.h"

void fc_invocation_init(fc_invocation *inv) {
  memset(inv, 0, sizeof *inv);
  fc_buf_init(&inv->body, FC_RESPONSE_MAX);
  fc_buf_init(&inv->log, LOG_KEEP + FC_LOG_TAIL + 1024);
}

void fc_invocation_free(fc_invocation *inv) {
  fc_buf_free(&inv->body);
  fc_buf_free(&inv->log);
}

/* ------------------------------------------------------------------------ */
/* On the worker's thread                                                    */
/* ------------------------------------------------------------------------ */

/* The message handler: {message = tostring(err), traceback = "..."}. */
static int l_msgh(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  lua_createtable(L, 0, 2);
  lua_pushstring(L, msg);
  lua_setfield(L, -2, "message");
  luaL_traceback(L, L, NULL, 1);
  lua_setfield(L, -2, "traceback");
  return 1;
}

/* Pushes the handler: loaded from the file the first time this worker
** (which serves one generation of one function) runs it. */
static void push_handler(lua_State *L, worker *w) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "fcemu.handler") == LUA_TFUNCTION) return;
  lua_pop(L, 1);
  const char *name = w->job.function_name;
  char path[4096], chunk[FC_FN_NAME_MAX + 8];
  snprintf(path, sizeof path, "%s/%s.lua", w->host->dir, name);
  snprintf(chunk, sizeof chunk, "@%s.lua", name);
  fc_buf code = FC_BUF_INIT(CODE_MAX);
  const char *why = NULL;
  if (fc_read_file(path, &code, &why) != 0) {
    fc_buf_free(&code);
    luaL_error(L, "%s.lua: %s", name, why);
  }
  int st = luaL_loadbufferx(L, fc_buf_str(&code), code.len, chunk, "t");
  fc_buf_free(&code);
  if (st != LUA_OK) lua_error(L);
  lua_call(L, 0, 1);
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "handler");
    lua_remove(L, -2);
  }
  if (!lua_isfunction(L, -1))
    luaL_error(L, "%s.lua must return a handler function or a table with one", name);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "fcemu.handler");
}

/* The ctx argument: request_id, function_name, qualifier, deadline,
** credentials, log, sleep. */
static void push_ctx(lua_State *L, worker *w) {
  const job *j = &w->job;
  lua_createtable(L, 0, 8);
  lua_pushstring(L, j->request_id);
  lua_setfield(L, -2, "request_id");
  lua_pushstring(L, j->function_name);
  lua_setfield(L, -2, "function_name");
  lua_pushstring(L, j->qualifier[0] ? j->qualifier : "LATEST");
  lua_setfield(L, -2, "qualifier");
  lua_pushnumber(L, j->deadline_epoch);
  lua_setfield(L, -2, "deadline");
  fc_push_keys(L, w->host);
  lua_setfield(L, -2, "credentials");
  lua_getfield(L, LUA_REGISTRYINDEX, "fcemu");
  lua_getfield(L, -1, "log");
  lua_setfield(L, -3, "log");
  lua_getfield(L, -1, "sleep");
  lua_setfield(L, -3, "sleep");
  lua_pop(L, 1);
}

/* The handler's result at index t, into the job's body. */
static void take_result(lua_State *L, job *j, int t) {
  size_t n = 0;
  const char *s = NULL;
  int ty = lua_type(L, t);
  j->content_type = "application/octet-stream";
  if (ty == LUA_TNIL) return;
  if (ty == LUA_TTABLE) {
    lua_getfield(L, LUA_REGISTRYINDEX, "fcemu");
    lua_getfield(L, -1, "json");
    lua_pushvalue(L, t);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
      luaL_error(L, "cannot encode the returned table as JSON: %s",
                 lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
    j->content_type = "application/json";
    s = lua_tolstring(L, -1, &n);
  } else if (ty == LUA_TSTRING || ty == LUA_TNUMBER || ty == LUA_TBOOLEAN) {
    s = luaL_tolstring(L, t, &n);
  } else {
    luaL_error(L, "the handler returned a %s; return a string, a table or nil",
               luaL_typename(L, t));
  }
  int rc = fc_buf_add(&j->body, s, n);
  if (rc) luaL_error(L, rc == FC_ETOOBIG ? "the response is larger than 32 MB" : "not enough memory");
}

static void inputs_taken(worker *w) {
  pthread_mutex_lock(&w->mu);
  w->taken = 1;
  pthread_mutex_unlock(&w->mu);
}

/* The whole call, protected: handler, payload, ctx, call, result. */
static int invocation_main(lua_State *L) {
  worker *w = lua_touserdata(L, 1);
  job *j = &w->job;
  lua_settop(L, 0);
  j->phase = PHASE_LOAD;
  if (j->load_error[0]) return luaL_error(L, "%s", j->load_error);
  push_handler(L, w);
  lua_pushlstring(L, j->payload ? j->payload : "", j->payload_len);
  push_ctx(L, w);
  inputs_taken(w); /* from here the caller's memory is not read */
  j->phase = PHASE_HANDLER;
  lua_call(L, 2, 1);
  j->phase = PHASE_RESULT;
  take_result(L, j, 1);
  return 0;
}

void fc_job_run(worker *w) {
  job *j = &w->job;
  lua_State *L = w->L;
  fc_buf_reset(&j->body);
  fc_buf_reset(&j->trace);
  j->error_message[0] = '\0';
  j->content_type = "application/octet-stream";
  pthread_mutex_lock(&w->mu);
  fc_buf_reset(&w->lines);
  w->logging = 1;
  pthread_mutex_unlock(&w->mu);
  atomic_store(&w->peak, w->mem);
  w->limit = j->memory_limit;
  if (w->limit < w->mem + (1u << 20)) w->limit = w->mem + (1u << 20);
  lua_settop(L, 0);
  lua_pushcfunction(L, l_msgh);
  lua_pushcfunction(L, invocation_main);
  lua_pushlightuserdata(L, w);
  j->status = lua_pcall(L, 1, 0, 1);
  w->limit = 0; /* what follows only reads the error */
  inputs_taken(w);
  if (j->status != LUA_OK) {
    fc_error_message(L, -1, j->error_message, sizeof j->error_message);
    if (lua_istable(L, -1) && lua_getfield(L, -1, "traceback") == LUA_TSTRING) {
      size_t n;
      const char *tb = lua_tolstring(L, -1, &n);
      (void)fc_buf_add(&j->trace, tb, n < 8000 ? n : 8000);
    }
  }
  lua_settop(L, 0);
  if (j->status != LUA_OK && !atomic_load(&w->abort)) {
    /* the runtimes log an unhandled error before the End line */
    fc_log_append(w, j->error_message, strlen(j->error_message));
    fc_log_append(w, "\n", 1);
  }
  pthread_mutex_lock(&w->mu);
  w->logging = 0;
  pthread_mutex_unlock(&w->mu);
}

/* ------------------------------------------------------------------------ */
/* On the caller's thread                                                    */
/* ------------------------------------------------------------------------ */

/* The body of a function error: {"errorMessage"[,"errorType"][,"stackTrace"]}. */
static int error_body(fc_buf *out, const char *msg, const char *type, const char *tb) {
  fc_buf_reset(out);
  int rc = fc_buf_adds(out, "{\"errorMessage\":");
  if (!rc) rc = fc_json_str(out, msg, strlen(msg));
  if (!rc && type) {
    rc = fc_buf_adds(out, ",\"errorType\":");
    if (!rc) rc = fc_json_str(out, type, strlen(type));
  }
  if (!rc && tb) {
    rc = fc_buf_adds(out, ",\"stackTrace\":[");
    int first = 1, lines = 0;
    for (const char *p = tb; *p && !rc && lines < 32;) {
      size_t k = strcspn(p, "\n");
      const char *line = p;
      p += k;
      if (*p) p++;
      while (k && (*line == '\t' || *line == ' ')) line++, k--;
      if (!k || strncmp(line, "stack traceback:", 16) == 0 || strncmp(line, "[C]: in ?", 9) == 0)
        continue;
      if (!first) rc = fc_buf_addc(out, ',');
      if (!rc) rc = fc_json_str(out, line, k);
      first = 0;
      lines++;
    }
    if (!rc) rc = fc_buf_addc(out, ']');
  }
  if (!rc) rc = fc_buf_addc(out, '}');
  return rc;
}

/* The FC tail log (FC-PROTOCOL.md section 5): Start line, the function's
** lines, End line (", Error: Unhandled function error" on a function
** error), a blank line, the summary; then its last FC_LOG_TAIL bytes. */
static int finish_log(fc_invocation *inv, const fc_buf *lines) {
  double billed = (double)(long long)inv->duration_ms; /* ceil, at least 1 ms */
  if (billed < inv->duration_ms || billed < 1) billed += 1;
  fc_buf all = FC_BUF_INIT(LOG_KEEP + FC_LOG_TAIL + 1024);
  int rc = fc_buf_printf(&all, "FC Invoke Start RequestId: %s\n", inv->request_id);
  if (!rc) rc = fc_buf_add(&all, lines->data ? lines->data : "", lines->len);
  if (!rc && lines->len && lines->data[lines->len - 1] != '\n') rc = fc_buf_addc(&all, '\n');
  if (!rc)
    rc = fc_buf_printf(&all,
                       "FC Invoke End RequestId: %s%s\n\nDuration: %.2f ms, Billed Duration: "
                       "%.0f ms, Memory Size: %d MB, Max Memory Used: %.2f MB\n",
                       inv->request_id, inv->failed ? ", Error: Unhandled function error" : "",
                       inv->duration_ms, billed, inv->memory_size, inv->max_memory_mb);
  if (!rc) {
    size_t from = all.len > FC_LOG_TAIL ? all.len - FC_LOG_TAIL : 0;
    fc_buf_reset(&inv->log);
    rc = fc_buf_add(&inv->log, all.data + from, all.len - from);
  }
  fc_buf_free(&all);
  return rc;
}

/*
** Checks the function and the qualifier (one refresh of the file, the only
** one on an invocation's path) and counts the invocation against the
** function's concurrency.
*/
static int enter_function(fc_host *h, const fc_invocation *inv, fc_fn_info *info,
                          unsigned long *gen) {
  pthread_mutex_lock(&h->lock);
  int rc = fc_registry_refresh_locked(h, inv->function_name, info, gen);
  if (rc == FC_HOST_OK && !fc_fn_has_qualifier(info, inv->qualifier)) rc = FC_HOST_NOQUALIFIER;
  if (rc == FC_HOST_OK) {
    fn_entry *e = fc_registry_find(h, inv->function_name);
    if (e->inflight >= e->info.concurrency) rc = FC_HOST_BUSY;
    else e->inflight++;
  }
  pthread_mutex_unlock(&h->lock);
  return rc;
}

static void leave_function(fc_host *h, const char *name) {
  pthread_mutex_lock(&h->lock);
  fn_entry *e = fc_registry_find(h, name);
  if (e && e->inflight > 0) e->inflight--;
  pthread_mutex_unlock(&h->lock);
}

/* Fills inv from a finished (or abandoned) job: output or FC's error body. */
static int answer(fc_invocation *inv, const fc_fn_info *info, job *j, int why,
                  fc_buf *lines) {
  inv->timed_out = why == ABORT_TIMEOUT;
  inv->stopped = why == ABORT_STOP;
  if (!why && j->status == LUA_OK) { /* the worker is done with its body: swap, not copy */
    fc_buf t = inv->body;
    inv->body = j->body;
    j->body = t;
    inv->content_type = j->content_type;
    return FC_OK;
  }
  char msg[512];
  const char *type = NULL, *tb = NULL;
  inv->failed = 1;
  if (why == ABORT_TIMEOUT) {
    snprintf(msg, sizeof msg, "Function timed out after %d seconds (maxMemoryUsage: %.2f MB)",
             info->timeout, inv->max_memory_mb);
  } else if (why == ABORT_STOP) {
    snprintf(msg, sizeof msg, "Invocation stopped after %.0f ms (maxMemoryUsage: %.2f MB)",
             inv->duration_ms, inv->max_memory_mb);
  } else if (why == ABORT_MEMORY || j->status == LUA_ERRMEM) {
    /* FC ends an instance out of memory; its runtime answers this */
    snprintf(msg, sizeof msg, "Process exited unexpectedly before completing request "
             "(duration: %.0fms, maxMemoryUsage: %.2fMB)", inv->duration_ms, inv->max_memory_mb);
    char line[160];
    int k = snprintf(line, sizeof line, "the function went past its memory limit of %d MB\n",
                     info->memory);
    (void)fc_buf_add(lines, line, (size_t)k);
  } else {
    memcpy(msg, j->error_message, sizeof msg);
    type = j->phase == PHASE_RESULT ? "InvalidResult" : "LuaError";
    tb = j->trace.len ? fc_buf_str(&j->trace) : NULL;
  }
  snprintf(inv->error_message, sizeof inv->error_message, "%s", msg);
  inv->content_type = "application/json";
  return error_body(&inv->body, msg, type, tb);
}

int fc_host_invoke(fc_host *h, fc_invocation *inv) {
  fc_fn_info info;
  unsigned long gen = 0;
  if (!fc_valid_function_name(inv->function_name)) return FC_HOST_NOTFOUND;
  int rc = enter_function(h, inv, &info, &gen);
  inv->concurrency = info.concurrency;
  if (rc != FC_HOST_OK) return rc;
  worker *w = NULL;
  rc = fc_worker_acquire(h, inv->function_name, gen, &w);
  if (rc != FC_HOST_OK) {
    leave_function(h, inv->function_name);
    return rc;
  }
  job *j = &w->job;
  snprintf(j->function_name, sizeof j->function_name, "%s", inv->function_name);
  snprintf(j->qualifier, sizeof j->qualifier, "%s", inv->qualifier ? inv->qualifier : "");
  snprintf(j->request_id, sizeof j->request_id, "%s", inv->request_id);
  snprintf(j->load_error, sizeof j->load_error, "%s", info.load_error);
  j->payload = inv->payload;
  j->payload_len = inv->payload_len;
  j->timeout_s = info.timeout;
  j->memory_limit = (size_t)info.memory << 20;
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  j->deadline_epoch = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9 + info.timeout;

  snprintf(inv->instance_id, sizeof inv->instance_id, "%s", w->instance_id);
  fc_buf lines = FC_BUF_INIT(LOG_KEEP + FC_LOG_TAIL + 1024);
  struct timespec t0 = fc_mono_now();
  fc_run r;
  int abandoned = fc_worker_run(h, w, inv->stop, info.timeout, &lines, &r);
  /* once abandoned, w is not ours: only r and lines are read */
  inv->duration_ms = fc_mono_ms(fc_mono_now(), t0);
  inv->max_memory_mb = (double)r.peak / (1024.0 * 1024.0);
  inv->memory_size = info.memory;
  inv->checksum = info.checksum;
  static job none = {.status = LUA_ERRRUN}; /* only read: why is set */
  rc = answer(inv, &info, abandoned ? &none : j, r.why, &lines);
  if (!abandoned) fc_worker_release(h, w, !r.why && j->status != LUA_ERRMEM);
  leave_function(h, inv->function_name);
  if (!rc && inv->want_log) rc = finish_log(inv, &lines);
  fc_buf_free(&lines);
  return rc;
}
