#include "host.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "crypto.h"
#include "encode.h"
#include "preload.h"

#define CODE_MAX (16u << 20)     /* largest NAME.lua read */
#define LOAD_SECONDS 10          /* limit on a file's top-level code */
#define META_MEMORY (256u << 20) /* memory limit of the settings scratch state */
#define DEFAULT_WORKERS 512
#define MAX_FUNCTIONS 10000
#define HOOK_EVERY 1000 /* instructions between deadline checks */
#define LOG_KEEP (2 * FC_LOG_TAIL)

enum { ABORT_NONE, ABORT_TIMEOUT, ABORT_STOP };

/* A function's registry entry; info is copied out under the lock. */
typedef struct fn_entry {
  fc_fn_info info;
  unsigned long gen; /* changes whenever the file is (re)loaded */
  struct timespec mtime;
  off_t size;
  ino_t ino;
  int present;
  int inflight;
} fn_entry;

/* A worker: one lua_State, its memory counters and its hook state. */
typedef struct worker {
  lua_State *L;
  fc_host *host;
  size_t mem, peak, limit;
  int oom;
  struct timespec deadline; /* CLOCK_MONOTONIC */
  atomic_int *stop;
  int abort;
  int timeout_s;
  fc_buf *log; /* the running invocation's log lines, or NULL */
  const char *request_id;
  char instance_id[48];
  struct worker *next;
} worker;

struct fc_host {
  char *dir;
  char *key_id, *key_secret, *token;
  char *endpoint;
  atomic_int stopping;
  atomic_ulong next_gen;
  pthread_mutex_t lock; /* fns, pool */
  fn_entry **fns;
  size_t nfns, capfns;
  worker *idle;
  size_t nworkers, max_workers;
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

static uint64_t crc64_table[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void) {
  for (unsigned i = 0; i < 256; i++) {
    uint64_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xC96C5795D7870F42ull : c >> 1;
    crc64_table[i] = c;
  }
}

/* CRC-64/XZ (ECMA-182 polynomial, reflected), the checksum OSS and FC use;
** start with crc = 0, feed pieces in order. */
uint64_t fc_crc64(uint64_t crc, const void *p, size_t n) {
  pthread_once(&crc64_once, crc64_init);
  const unsigned char *s = p;
  crc = ~crc;
  for (size_t i = 0; i < n; i++) crc = crc64_table[(crc ^ s[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

int fc_valid_function_name(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > FC_FN_NAME_MAX) return 0;
  if ((s[0] >= '0' && s[0] <= '9') || s[0] == '-') return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

int fc_fn_has_qualifier(const fc_fn_info *info, const char *q) {
  return !q || !*q || strcmp(q, "LATEST") == 0 || fc_list_has(info->qualifiers, ',', q);
}

static double now_epoch(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double elapsed_ms(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Reads a whole file of at most CODE_MAX bytes; *err names the failure. */
static int read_file(const char *path, fc_buf *out, const char **err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    *err = strerror(errno);
    return -1;
  }
  int rc = 0;
  for (;;) {
    if ((rc = fc_buf_reserve(out, 65536)) != FC_OK) break;
    size_t k = fread(out->data + out->len, 1, 65536, f);
    fc_buf_commit(out, k);
    if (k < 65536) break;
  }
  if (!rc && ferror(f)) rc = -1;
  fclose(f);
  if (rc) *err = rc == FC_ETOOBIG ? "file larger than 16 MB" : "read error";
  return rc ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Lua states: allocator, hook, logging                                      */
/* ------------------------------------------------------------------------ */

static worker *get_worker(lua_State *L) { return *(worker **)lua_getextraspace(L); }

/*
** Counts every byte a state holds. While a limit is set, a growth past it
** fails (Lua raises "not enough memory"); frees and shrinks never fail, as
** Lua requires.
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
    w->oom = 1;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (!p) return NULL;
  w->mem = w->mem - osize + nsize;
  if (w->mem > w->peak) w->peak = w->mem;
  return p;
}

/* Which abort applies now: the stop flags first, then the deadline. */
static int check_abort(worker *w) {
  if (w->abort) return w->abort;
  if (atomic_load(&w->host->stopping) || (w->stop && atomic_load(w->stop))) {
    w->abort = ABORT_STOP;
  } else if (w->deadline.tv_sec) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (t.tv_sec > w->deadline.tv_sec ||
        (t.tv_sec == w->deadline.tv_sec && t.tv_nsec >= w->deadline.tv_nsec))
      w->abort = ABORT_TIMEOUT;
  }
  return w->abort;
}

static int raise_abort(lua_State *L, int why) {
  return luaL_error(L, why == ABORT_TIMEOUT ? "function timed out" : "invocation stopped");
}

/* The count hook: stops a handler past its deadline or asked to stop. Once
** tripped it keeps raising, so a pcall in the handler cannot swallow it. */
static void abort_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  int why = check_abort(get_worker(L));
  if (why) raise_abort(L, why);
}

/* Appends to the running invocation's log, keeping only the last
** FC_LOG_TAIL bytes that matter (trimmed in batches). */
static void log_append(worker *w, const char *s, size_t n) {
  if (!w->log) return;
  if (n > FC_LOG_TAIL) {
    s += n - FC_LOG_TAIL;
    n = FC_LOG_TAIL;
  }
  if (w->log->len + n > LOG_KEEP) {
    size_t keep = w->log->len > FC_LOG_TAIL ? FC_LOG_TAIL : w->log->len;
    memmove(w->log->data, w->log->data + w->log->len - keep, keep);
    w->log->len = keep;
    w->log->data[keep] = '\0';
  }
  (void)fc_buf_add(w->log, s, n); /* bounded by LOG_KEEP + FC_LOG_TAIL */
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
  log_append(w, line, len);
}

/* print inside a function writes to that invocation's log. */
static int l_print(lua_State *L) {
  log_args(L, get_worker(L), "", 0);
  return 0;
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
                   tm.tm_sec, t.tv_nsec / 1000000, w->request_id ? w->request_id : "-");
  log_args(L, w, prefix, (size_t)n);
  return 0;
}

/* ctx.sleep(seconds): sleeps without burning CPU, but still stops at the
** deadline or on StopAsyncTask (an emulator extension, for tests). */
static int l_ctx_sleep(lua_State *L) {
  worker *w = get_worker(L);
  double s = luaL_checknumber(L, 1);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (elapsed_ms(&t0) < s * 1e3) {
    int why = check_abort(w);
    if (why) return raise_abort(L, why);
    double left = s * 1e3 - elapsed_ms(&t0);
    if (left > 10) left = 10;
    if (left <= 0) break;
    struct timespec d = {0, (long)(left * 1e6)};
    nanosleep(&d, NULL);
  }
  return 0;
}

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

/* os.exit in a function would end the whole emulator: refuse it. */
static int l_no_exit(lua_State *L) {
  return luaL_error(L, "os.exit is not available to functions in the emulator");
}

/* A fresh state with the standard libraries, fc and cjson preloadable,
** print bound to the worker's log, os.exit disabled. */
static lua_State *new_state(worker *w) {
  lua_State *L = lua_newstate(counting_alloc, w);
  if (!L) return NULL;
  *(worker **)lua_getextraspace(L) = w;
  luaL_openlibs(L);
  fc_preload(L);
  lua_pushcfunction(L, l_print);
  lua_setglobal(L, "print");
  lua_getglobal(L, "os");
  lua_pushcfunction(L, l_no_exit);
  lua_setfield(L, -2, "exit");
  lua_pop(L, 1);
  return L;
}

/* {access_key_id, access_key_secret[, security_token]}: the keys this
** emulator accepts, with which a function calls back into it. */
static void push_keys(lua_State *L, const fc_host *h) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, h->key_id);
  lua_setfield(L, -2, "access_key_id");
  lua_pushstring(L, h->key_secret);
  lua_setfield(L, -2, "access_key_secret");
  if (h->token) {
    lua_pushstring(L, h->token);
    lua_setfield(L, -2, "security_token");
  }
}

/* Points the state's fc module at the emulator with its keys, so that
** functions chain through the emulator. It fails only without memory. */
static void configure_fc(fc_host *h, lua_State *L) {
  static const char chunk[] = "require('fc').configure(...)";
  if (luaL_loadstring(L, chunk) != LUA_OK) {
    lua_pop(L, 1);
    return;
  }
  push_keys(L, h);
  pthread_mutex_lock(&h->lock);
  lua_pushstring(L, h->endpoint ? h->endpoint : "");
  pthread_mutex_unlock(&h->lock);
  lua_setfield(L, -2, "endpoint");
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "fcrun serve: cannot configure fc for functions: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
}

/* Runs a loaded chunk (on the stack) and leaves its first result, or an
** error record, on the stack. Returns the pcall status. */
static int call_chunk(lua_State *L, int nargs) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, l_msgh);
  lua_insert(L, base);
  int st = lua_pcall(L, nargs, 1, base);
  lua_remove(L, base);
  return st;
}

/* The message of an error record (or a raw error value) at idx. */
static const char *error_message(lua_State *L, int idx) {
  if (lua_istable(L, idx)) {
    lua_getfield(L, idx, "message");
    const char *m = lua_tostring(L, -1);
    lua_pop(L, 1); /* the string stays referenced by the record */
    if (m) return m;
  }
  const char *m = lua_tostring(L, idx);
  return m ? m : "not enough memory";
}

/* ------------------------------------------------------------------------ */
/* Function settings                                                         */
/* ------------------------------------------------------------------------ */

/* Reads an integer setting in [lo, hi]; an error message when out of rule. */
static int int_setting(lua_State *L, int t, const char *key, int lo, int hi, int *out,
                       char *err, size_t errlen) {
  lua_getfield(L, t, key);
  int rc = 0;
  if (!lua_isnil(L, -1)) {
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < lo || v > hi) {
      snprintf(err, errlen, "%s must be an integer from %d to %d", key, lo, hi);
      rc = -1;
    } else {
      *out = (int)v;
    }
  }
  lua_pop(L, 1);
  return rc;
}

static int valid_qualifier(const char *s, size_t n) {
  if (n < 1 || n > 128) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-' || c == '.'))
      return 0;
  }
  return 1;
}

/*
** Reads the settings of a function's returned value (at the top of L) into
** info: a handler function means defaults; a table gives handler, timeout,
** memory, concurrency, qualifiers and description.
*/
static int read_settings(lua_State *L, fc_fn_info *info, char *err, size_t errlen) {
  int t = lua_gettop(L);
  if (lua_isfunction(L, t)) return 0;
  if (!lua_istable(L, t)) {
    snprintf(err, errlen, "the file must return a handler function or a table with "
                          "a handler, not a %s", luaL_typename(L, t));
    return -1;
  }
  lua_getfield(L, t, "handler");
  int isfn = lua_isfunction(L, -1);
  lua_pop(L, 1);
  if (!isfn) {
    snprintf(err, errlen, "the returned table has no handler function (handler = "
                          "function(event, ctx) ... end)");
    return -1;
  }
  if (int_setting(L, t, "timeout", 1, 86400, &info->timeout, err, errlen) ||
      int_setting(L, t, "memory", 1, 32768, &info->memory, err, errlen) ||
      int_setting(L, t, "concurrency", 1, 1000, &info->concurrency, err, errlen))
    return -1;
  lua_getfield(L, t, "description");
  if (lua_type(L, -1) == LUA_TSTRING)
    snprintf(info->description, sizeof info->description, "%s", lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_getfield(L, t, "qualifiers");
  int rc = 0;
  if (lua_istable(L, -1)) {
    size_t used = 0;
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n && !rc; i++) {
      lua_geti(L, -1, i);
      size_t k;
      const char *q = lua_tolstring(L, -1, &k);
      if (!q || !valid_qualifier(q, k) || used + k + 2 > sizeof info->qualifiers) {
        snprintf(err, errlen, "qualifiers must be a list of names (letters, digits, _ - .)");
        rc = -1;
      } else {
        if (used) info->qualifiers[used++] = ',';
        memcpy(info->qualifiers + used, q, k);
        used += k;
        info->qualifiers[used] = '\0';
      }
      lua_pop(L, 1);
    }
  } else if (!lua_isnil(L, -1)) {
    snprintf(err, errlen, "qualifiers must be a list of names");
    rc = -1;
  }
  lua_pop(L, 1);
  return rc;
}

/*
** Loads NAME.lua in a scratch state (limited in time and memory) to learn
** its settings, and checksums the file. A file that does not load is still
** a function: info->load_error says why, and invoking it reports that.
*/
static void load_settings(fc_host *h, const char *path, fc_fn_info *info) {
  fc_buf code = FC_BUF_INIT(CODE_MAX);
  const char *why = NULL;
  info->timeout = 3;
  info->memory = 128;
  info->concurrency = 100;
  if (read_file(path, &code, &why) != 0) {
    snprintf(info->load_error, sizeof info->load_error, "%s.lua: %s", info->name, why);
    fc_buf_free(&code);
    return;
  }
  info->checksum = fc_crc64(0, code.data, code.len);
  info->code_size = (long long)code.len;
  worker w = {0};
  w.host = h;
  w.limit = META_MEMORY;
  lua_State *L = new_state(&w);
  if (!L) {
    snprintf(info->load_error, sizeof info->load_error, "not enough memory");
    fc_buf_free(&code);
    return;
  }
  configure_fc(h, L); /* top-level code may use fc: not the real cloud */
  char chunk[FC_FN_NAME_MAX + 8];
  snprintf(chunk, sizeof chunk, "@%s.lua", info->name);
  clock_gettime(CLOCK_MONOTONIC, &w.deadline);
  w.deadline.tv_sec += LOAD_SECONDS;
  lua_sethook(L, abort_hook, LUA_MASKCOUNT, HOOK_EVERY);
  int st = luaL_loadbufferx(L, fc_buf_str(&code), code.len, chunk, "t");
  if (st == LUA_OK) st = call_chunk(L, 0);
  if (st != LUA_OK)
    snprintf(info->load_error, sizeof info->load_error, "%s", error_message(L, -1));
  else
    read_settings(L, info, info->load_error, sizeof info->load_error);
  lua_close(L);
  fc_buf_free(&code);
}

static int same_stat(const fn_entry *e, const struct stat *st) {
  return e->present && e->size == st->st_size && e->ino == st->st_ino &&
         e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static fn_entry *find_entry(fc_host *h, const char *name) {
  for (size_t i = 0; i < h->nfns; i++)
    if (strcmp(h->fns[i]->info.name, name) == 0) return h->fns[i];
  return NULL;
}

/*
** The registry entry of NAME, refreshed from the file when it changed, and
** a copy of its info. Call with the lock held: it is released while a
** changed file is loaded (that runs user code) and taken again.
*/
static int refresh_locked(fc_host *h, const char *name, fc_fn_info *info, unsigned long *gen) {
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s.lua", h->dir, name);
  int exists = stat(path, &st) == 0 && S_ISREG(st.st_mode);
  fn_entry *e = find_entry(h, name);
  if (!exists) {
    if (e) e->present = 0;
    return FC_HOST_NOTFOUND;
  }
  if (e && same_stat(e, &st)) {
    if (info) *info = e->info;
    if (gen) *gen = e->gen;
    return FC_HOST_OK;
  }
  pthread_mutex_unlock(&h->lock);
  fc_fn_info fresh;
  memset(&fresh, 0, sizeof fresh);
  snprintf(fresh.name, sizeof fresh.name, "%s", name);
  load_settings(h, path, &fresh);
  fresh.modified_ms = (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
  fresh.created_ms = fresh.modified_ms;
  pthread_mutex_lock(&h->lock);
  e = find_entry(h, name);
  if (!e) {
    if (h->nfns == MAX_FUNCTIONS) return FC_ENOMEM;
    if (h->nfns == h->capfns) {
      size_t cap = h->capfns ? 2 * h->capfns : 16;
      fn_entry **v = realloc(h->fns, cap * sizeof *v);
      if (!v) return FC_ENOMEM;
      h->fns = v;
      h->capfns = cap;
    }
    e = calloc(1, sizeof *e);
    if (!e) return FC_ENOMEM;
    h->fns[h->nfns++] = e;
    e->info.created_ms = fresh.created_ms;
  }
  long long created = e->info.created_ms ? e->info.created_ms : fresh.created_ms;
  e->info = fresh;
  e->info.created_ms = created;
  e->gen = atomic_fetch_add(&h->next_gen, 1) + 1;
  e->mtime = st.st_mtim;
  e->size = st.st_size;
  e->ino = st.st_ino;
  e->present = 1;
  if (info) *info = e->info;
  if (gen) *gen = e->gen;
  return FC_HOST_OK;
}

int fc_host_lookup(fc_host *h, const char *name, fc_fn_info *info) {
  if (!fc_valid_function_name(name)) return FC_HOST_NOTFOUND;
  pthread_mutex_lock(&h->lock);
  int rc = refresh_locked(h, name, info, NULL);
  pthread_mutex_unlock(&h->lock);
  return rc;
}

static int cmp_info(const void *a, const void *b) {
  return strcmp(((const fc_fn_info *)a)->name, ((const fc_fn_info *)b)->name);
}

int fc_host_list(fc_host *h, fc_fn_info **out, size_t *n) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(h->dir);
  if (!d) return FC_EINVAL;
  size_t cap = 0, k = 0;
  fc_fn_info *v = NULL;
  int rc = FC_OK;
  struct dirent *de;
  while ((de = readdir(d)) != NULL && k < MAX_FUNCTIONS) {
    size_t len = strlen(de->d_name);
    if (len < 5 || strcmp(de->d_name + len - 4, ".lua") != 0) continue;
    char name[FC_FN_NAME_MAX + 1];
    if (len - 4 > FC_FN_NAME_MAX) continue;
    memcpy(name, de->d_name, len - 4);
    name[len - 4] = '\0';
    if (!fc_valid_function_name(name)) continue;
    if (k == cap) {
      size_t c = cap ? 2 * cap : 16;
      fc_fn_info *nv = realloc(v, c * sizeof *nv);
      if (!nv) {
        rc = FC_ENOMEM;
        break;
      }
      v = nv;
      cap = c;
    }
    int r = fc_host_lookup(h, name, &v[k]);
    if (r == FC_HOST_OK) k++;
    else if (r < 0) {
      rc = r;
      break;
    }
  }
  closedir(d);
  if (rc) {
    free(v);
    return rc;
  }
  if (k) qsort(v, k, sizeof *v, cmp_info);
  *out = v;
  *n = k;
  return FC_OK;
}

/* ------------------------------------------------------------------------ */
/* Workers                                                                   */
/* ------------------------------------------------------------------------ */

static void worker_free(worker *w) {
  if (!w) return;
  if (w->L) lua_close(w->L);
  free(w);
}

/* A new worker: state, fc configured, the ctx helpers in the registry. */
static worker *worker_new(fc_host *h) {
  worker *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->host = h;
  unsigned char r[10];
  char hex[21];
  if (fc_random(r, sizeof r) != FC_OK) memset(r, 0, sizeof r);
  fc_hex(hex, r, sizeof r);
  snprintf(w->instance_id, sizeof w->instance_id, "c-%08lx-%s",
           (unsigned long)time(NULL) & 0xffffffffUL, hex);
  w->L = new_state(w);
  if (!w->L) {
    free(w);
    return NULL;
  }
  lua_State *L = w->L;
  configure_fc(h, L);
  lua_settop(L, 0);
  /* registry.fcemu = {fns = {}, log = l_ctx_log, sleep = l_ctx_sleep, json = cjson.encode} */
  lua_createtable(L, 0, 4);
  lua_newtable(L);
  lua_setfield(L, -2, "fns");
  lua_pushcfunction(L, l_ctx_log);
  lua_setfield(L, -2, "log");
  lua_pushcfunction(L, l_ctx_sleep);
  lua_setfield(L, -2, "sleep");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    lua_getfield(L, -1, "encode");
    lua_setfield(L, -3, "json");
  }
  lua_pop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, "fcemu");
  return w;
}

static int acquire_worker(fc_host *h, worker **out) {
  pthread_mutex_lock(&h->lock);
  worker *w = h->idle;
  if (w) {
    h->idle = w->next;
    pthread_mutex_unlock(&h->lock);
    *out = w;
    return FC_HOST_OK;
  }
  if (h->nworkers >= h->max_workers) {
    pthread_mutex_unlock(&h->lock);
    return FC_HOST_NOWORKER;
  }
  h->nworkers++;
  pthread_mutex_unlock(&h->lock);
  w = worker_new(h);
  if (!w) {
    pthread_mutex_lock(&h->lock);
    h->nworkers--;
    pthread_mutex_unlock(&h->lock);
    return FC_ENOMEM;
  }
  *out = w;
  return FC_HOST_OK;
}

static void release_worker(fc_host *h, worker *w) {
  pthread_mutex_lock(&h->lock);
  w->next = h->idle;
  h->idle = w;
  pthread_mutex_unlock(&h->lock);
}

/* ------------------------------------------------------------------------ */
/* Invocation                                                                */
/* ------------------------------------------------------------------------ */

void fc_invocation_init(fc_invocation *inv) {
  memset(inv, 0, sizeof *inv);
  fc_buf_init(&inv->body, FC_RESPONSE_MAX);
  fc_buf_init(&inv->log, LOG_KEEP + FC_LOG_TAIL + 1024);
}

void fc_invocation_free(fc_invocation *inv) {
  fc_buf_free(&inv->body);
  fc_buf_free(&inv->log);
}

/* JSON string literal of s (n bytes) into out; bytes >= 0x80 pass as they
** are (the log and messages are UTF-8 as the function wrote them). */
int fc_json_str(fc_buf *out, const char *s, size_t n) {
  int rc = fc_buf_addc(out, '"');
  for (size_t i = 0; i < n && !rc; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      rc = fc_buf_add(out, e, 2);
    } else if (c == '\n') {
      rc = fc_buf_adds(out, "\\n");
    } else if (c == '\t') {
      rc = fc_buf_adds(out, "\\t");
    } else if (c == '\r') {
      rc = fc_buf_adds(out, "\\r");
    } else if (c < 0x20 || c == 0x7f) {
      rc = fc_buf_printf(out, "\\u%04x", c);
    } else {
      rc = fc_buf_addc(out, (char)c);
    }
  }
  if (!rc) rc = fc_buf_addc(out, '"');
  return rc;
}

/* The body of a function error: {"errorMessage","errorType","stackTrace"}. */
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

/* Makes the function's handler available at the top of the stack, loading
** (or reloading, when gen changed) the file in this worker. */
static int push_handler(fc_host *h, worker *w, const char *name, unsigned long gen) {
  lua_State *L = w->L;
  lua_getfield(L, LUA_REGISTRYINDEX, "fcemu");
  lua_getfield(L, -1, "fns");
  lua_remove(L, -2);
  lua_getfield(L, -1, name); /* fns entry */
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "gen");
    unsigned long g = (unsigned long)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (g == gen) {
      lua_getfield(L, -1, "handler");
      lua_remove(L, -2);
      lua_remove(L, -2);
      return LUA_OK;
    }
  }
  lua_pop(L, 1);
  char path[4096], chunk[FC_FN_NAME_MAX + 8];
  snprintf(path, sizeof path, "%s/%s.lua", h->dir, name);
  snprintf(chunk, sizeof chunk, "@%s.lua", name);
  fc_buf code = FC_BUF_INIT(CODE_MAX);
  const char *why = NULL;
  int st;
  if (read_file(path, &code, &why) != 0) {
    lua_pop(L, 1);
    lua_pushfstring(L, "%s.lua: %s", name, why);
    fc_buf_free(&code);
    return LUA_ERRFILE;
  }
  st = luaL_loadbufferx(L, fc_buf_str(&code), code.len, chunk, "t");
  fc_buf_free(&code);
  if (st == LUA_OK) st = call_chunk(L, 0);
  if (st != LUA_OK) {
    lua_remove(L, -2); /* fns */
    return st;
  }
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "handler");
    lua_remove(L, -2);
  }
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 2);
    lua_pushfstring(L, "%s.lua must return a handler function or a table with one", name);
    return LUA_ERRRUN;
  }
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)gen);
  lua_setfield(L, -2, "gen");
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "handler");
  lua_setfield(L, -3, name);
  lua_remove(L, -2);
  return LUA_OK;
}

/* The ctx argument: request_id, function_name, qualifier, deadline,
** credentials, log, sleep. */
static void push_ctx(fc_host *h, worker *w, const fc_invocation *inv, double deadline) {
  lua_State *L = w->L;
  lua_createtable(L, 0, 8);
  lua_pushstring(L, inv->request_id);
  lua_setfield(L, -2, "request_id");
  lua_pushstring(L, inv->function_name);
  lua_setfield(L, -2, "function_name");
  lua_pushstring(L, inv->qualifier && *inv->qualifier ? inv->qualifier : "LATEST");
  lua_setfield(L, -2, "qualifier");
  lua_pushnumber(L, deadline);
  lua_setfield(L, -2, "deadline");
  push_keys(L, h);
  lua_setfield(L, -2, "credentials");
  lua_getfield(L, LUA_REGISTRYINDEX, "fcemu");
  lua_getfield(L, -1, "log");
  lua_setfield(L, -3, "log");
  lua_getfield(L, -1, "sleep");
  lua_setfield(L, -3, "sleep");
  lua_pop(L, 1);
}

/* The handler's result at the top of the stack, into inv->body; 0, or -1
** with the message of what is wrong with it pushed. */
static int take_result(lua_State *L, fc_invocation *inv) {
  int t = lua_gettop(L);
  int ty = lua_type(L, t);
  size_t n = 0;
  const char *s = NULL;
  inv->content_type = "application/octet-stream";
  if (ty == LUA_TNIL) return 0;
  if (ty == LUA_TTABLE) {
    lua_getfield(L, LUA_REGISTRYINDEX, "fcemu");
    lua_getfield(L, -1, "json");
    lua_remove(L, -2);
    if (!lua_isfunction(L, -1)) {
      lua_pushliteral(L, "cannot encode the returned table: cjson is not available");
      return -1;
    }
    lua_pushvalue(L, t);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
      lua_pushfstring(L, "cannot encode the returned table as JSON: %s",
                      lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
      return -1;
    }
    inv->content_type = "application/json";
    s = lua_tolstring(L, -1, &n);
  } else if (ty == LUA_TSTRING || ty == LUA_TNUMBER || ty == LUA_TBOOLEAN) {
    s = luaL_tolstring(L, t, &n);
  } else {
    lua_pushfstring(L, "the handler returned a %s; return a string, a table or nil",
                    luaL_typename(L, t));
    return -1;
  }
  int rc = fc_buf_add(&inv->body, s, n);
  if (rc) {
    lua_pushstring(L, rc == FC_ETOOBIG ? "the response is larger than 32 MB" : "not enough memory");
    return -1;
  }
  return 0;
}

/* The FC tail log: Start line, the function's lines, End line, blank line,
** summary; then its last FC_LOG_TAIL bytes. */
static int finish_log(fc_invocation *inv, fc_buf *lines, double billed) {
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
  int rc = refresh_locked(h, inv->function_name, info, gen);
  if (rc == FC_HOST_OK && !fc_fn_has_qualifier(info, inv->qualifier)) rc = FC_HOST_NOQUALIFIER;
  if (rc == FC_HOST_OK) {
    fn_entry *e = find_entry(h, inv->function_name);
    if (e->inflight >= e->info.concurrency) rc = FC_HOST_BUSY;
    else e->inflight++;
  }
  pthread_mutex_unlock(&h->lock);
  return rc;
}

static void leave_function(fc_host *h, const char *name) {
  pthread_mutex_lock(&h->lock);
  fn_entry *e = find_entry(h, name);
  if (e && e->inflight > 0) e->inflight--;
  pthread_mutex_unlock(&h->lock);
}

/* Runs the handler in w and fills inv; the Lua stack is left empty. */
static int run_in_worker(fc_host *h, worker *w, fc_invocation *inv, const fc_fn_info *info,
                         unsigned long gen) {
  lua_State *L = w->L;
  fc_buf lines = FC_BUF_INIT(LOG_KEEP + FC_LOG_TAIL + 1);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  double deadline = now_epoch() + info->timeout;
  w->deadline = t0;
  w->deadline.tv_sec += info->timeout;
  w->stop = inv->stop;
  w->abort = ABORT_NONE;
  w->oom = 0;
  w->log = &lines;
  w->request_id = inv->request_id;
  w->timeout_s = info->timeout;
  w->peak = w->mem;
  w->limit = (size_t)info->memory << 20;
  if (w->limit < w->mem + (1u << 20)) w->limit = w->mem + (1u << 20);
  lua_sethook(L, abort_hook, LUA_MASKCOUNT, HOOK_EVERY);

  const char *errtype = "LuaError";
  int st;
  if (info->load_error[0]) {
    lua_pushstring(L, info->load_error);
    st = LUA_ERRRUN;
  } else {
    st = push_handler(h, w, inv->function_name, gen);
    if (st == LUA_OK) {
      lua_pushlstring(L, inv->payload ? inv->payload : "", inv->payload_len);
      push_ctx(h, w, inv, deadline);
      st = call_chunk(L, 2);
    }
  }
  int rc = FC_OK, bad = st != LUA_OK;
  if (!bad && !w->abort && take_result(L, inv) != 0) {
    bad = 1;
    errtype = "InvalidResult";
  }
  lua_sethook(L, NULL, 0, 0);
  w->limit = 0;
  inv->duration_ms = elapsed_ms(&t0);
  inv->max_memory_mb = (double)w->peak / (1024.0 * 1024.0);
  inv->memory_size = info->memory;
  snprintf(inv->instance_id, sizeof inv->instance_id, "%s", w->instance_id);
  inv->checksum = info->checksum;
  inv->timed_out = w->abort == ABORT_TIMEOUT;
  inv->stopped = w->abort == ABORT_STOP;

  if (w->abort || bad) {
    char msg[512];
    const char *tb = NULL;
    inv->failed = 1;
    if (w->abort == ABORT_TIMEOUT) {
      snprintf(msg, sizeof msg, "Function timed out after %d seconds (maxMemoryUsage: %.2f MB)",
               info->timeout, inv->max_memory_mb);
      errtype = NULL;
    } else if (w->abort == ABORT_STOP) {
      snprintf(msg, sizeof msg, "Invocation stopped after %.0f ms (maxMemoryUsage: %.2f MB)",
               inv->duration_ms, inv->max_memory_mb);
      errtype = NULL;
    } else if (st == LUA_ERRMEM || w->oom) {
      snprintf(msg, sizeof msg, "not enough memory: the function's memory limit is %d MB "
               "(maxMemoryUsage: %.2f MB)", info->memory, inv->max_memory_mb);
      errtype = "MemoryLimitExceeded";
    } else {
      snprintf(msg, sizeof msg, "%s", error_message(L, -1));
      if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "traceback");
        tb = lua_tostring(L, -1); /* kept alive by the record below it */
        lua_pop(L, 1);
      }
    }
    snprintf(inv->error_message, sizeof inv->error_message, "%s", msg);
    if (tb) {
      /* Log the error as the runtimes do, before the End line. */
      log_append(w, msg, strlen(msg));
      log_append(w, "\n", 1);
    }
    fc_buf_reset(&inv->body);
    rc = error_body(&inv->body, msg, errtype, tb);
    inv->content_type = "application/json";
  }
  lua_settop(L, 0);
  w->log = NULL;
  w->stop = NULL;
  w->request_id = NULL;
  if (w->oom) lua_gc(L, LUA_GCCOLLECT);
  double billed = (double)(long long)inv->duration_ms; /* ceil, at least 1 ms */
  if (billed < inv->duration_ms || billed < 1) billed += 1;
  if (!rc && inv->want_log) rc = finish_log(inv, &lines, billed);
  fc_buf_free(&lines);
  return rc;
}

int fc_host_invoke(fc_host *h, fc_invocation *inv) {
  fc_fn_info info;
  unsigned long gen = 0;
  if (!fc_valid_function_name(inv->function_name)) return FC_HOST_NOTFOUND;
  int rc = enter_function(h, inv, &info, &gen);
  inv->concurrency = info.concurrency;
  if (rc != FC_HOST_OK) return rc;
  worker *w = NULL;
  rc = acquire_worker(h, &w);
  if (rc == FC_HOST_OK) {
    rc = run_in_worker(h, w, inv, &info, gen);
    release_worker(h, w);
  }
  leave_function(h, inv->function_name);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

int fc_host_new(fc_host **out, const fc_host_options *o, char *err, size_t errlen) {
  *out = NULL;
  struct stat st;
  int bad = !o->dir ? EINVAL : stat(o->dir, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
  if (bad) {
    snprintf(err, errlen, "functions directory '%s': %s; give a directory of NAME.lua files",
             o->dir ? o->dir : "(none)", o->dir ? strerror(bad) : "not given");
    return -1;
  }
  fc_host *h = calloc(1, sizeof *h);
  if (!h) goto nomem;
  h->dir = strdup(o->dir);
  h->key_id = dup_or_null(o->access_key_id);
  h->key_secret = dup_or_null(o->access_key_secret);
  h->token = dup_or_null(o->security_token);
  h->max_workers = o->max_workers ? o->max_workers : DEFAULT_WORKERS;
  if (!h->dir || !h->key_id || !h->key_secret || (o->security_token && !h->token)) goto nomem;
  if (pthread_mutex_init(&h->lock, NULL) != 0) goto nomem;
  atomic_init(&h->stopping, 0);
  atomic_init(&h->next_gen, 0);
  *out = h;
  return 0;
nomem:
  if (h) {
    free(h->dir);
    free(h->key_id);
    free(h->key_secret);
    free(h->token);
    free(h);
  }
  snprintf(err, errlen, "out of memory");
  return -1;
}

int fc_host_set_endpoint(fc_host *h, const char *endpoint) {
  char *e = strdup(endpoint);
  if (!e) return FC_ENOMEM;
  pthread_mutex_lock(&h->lock);
  free(h->endpoint);
  h->endpoint = e;
  pthread_mutex_unlock(&h->lock);
  return FC_OK;
}

void fc_host_shutdown(fc_host *h) { atomic_store(&h->stopping, 1); }

void fc_host_free(fc_host *h) {
  if (!h) return;
  while (h->idle) {
    worker *w = h->idle;
    h->idle = w->next;
    worker_free(w);
  }
  for (size_t i = 0; i < h->nfns; i++) free(h->fns[i]);
  free(h->fns);
  pthread_mutex_destroy(&h->lock);
  free(h->dir);
  free(h->key_id);
  if (h->key_secret) memset(h->key_secret, 0, strlen(h->key_secret));
  free(h->key_secret);
  free(h->token);
  free(h->endpoint);
  free(h);
}
