/*
** registry.c: the functions of DIR. Each NAME.lua is stat'ed on every use;
** when it changed, its settings are read again by running the file once in
** a scratch lua_State (limited in time and memory), and it gets a new
** generation, so the workers of the old code are no longer used.
*/
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>

#include "host_int.h"
#include "encode.h"
#include "util.h"

#define LOAD_SECONDS 10          /* limit on a file's top-level code */
#define META_MEMORY (256u << 20) /* memory limit of the settings scratch state */
#define MAX_FUNCTIONS 10000

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

/* Reads a whole file of at most CODE_MAX bytes; *err names the failure. */
int fc_read_file(const char *path, fc_buf *out, const char **err) {
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
static int read_settings(lua_State *L, int t, fc_fn_info *info, char *err, size_t errlen) {
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

/* The protected part of loading: run the chunk (upvalue-free: the code and
** info come as light userdata) and read its settings. */
typedef struct load_args {
  const fc_buf *code;
  fc_fn_info *info;
} load_args;

static int load_main(lua_State *L) {
  load_args *a = lua_touserdata(L, 1);
  char chunk[FC_FN_NAME_MAX + 8];
  snprintf(chunk, sizeof chunk, "@%s.lua", a->info->name);
  if (luaL_loadbufferx(L, fc_buf_str(a->code), a->code->len, chunk, "t") != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  if (read_settings(L, lua_gettop(L), a->info, a->info->load_error,
                    sizeof a->info->load_error) != 0 && !a->info->load_error[0])
    snprintf(a->info->load_error, sizeof a->info->load_error, "bad settings");
  return 0;
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
  if (fc_read_file(path, &code, &why) != 0) {
    snprintf(info->load_error, sizeof info->load_error, "%s.lua: %s", info->name, why);
    fc_buf_free(&code);
    return;
  }
  info->checksum = fc_crc64(0, code.data, code.len);
  info->code_size = (long long)code.len;
  worker *w = calloc(1, sizeof *w);
  lua_State *L = w ? fc_state_new(w, h) : NULL;
  if (!L) {
    snprintf(info->load_error, sizeof info->load_error, "not enough memory");
    free(w);
    fc_buf_free(&code);
    return;
  }
  w->limit = META_MEMORY;
  w->deadline = fc_mono_add(fc_mono_now(), LOAD_SECONDS * 1e3);
  load_args a = {&code, info};
  lua_pushcfunction(L, load_main);
  lua_pushlightuserdata(L, &a);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK)
    fc_error_message(L, -1, info->load_error, sizeof info->load_error);
  fc_worker_destroy(w);
  fc_buf_free(&code);
}

static int same_stat(const fn_entry *e, const struct stat *st) {
  return e->present && e->size == st->st_size && e->ino == st->st_ino &&
         e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

fn_entry *fc_registry_find(fc_host *h, const char *name) {
  for (size_t i = 0; i < h->nfns; i++)
    if (strcmp(h->fns[i]->info.name, name) == 0) return h->fns[i];
  return NULL;
}

/*
** The registry entry of NAME, refreshed from the file when it changed, and
** a copy of its info. Call with the lock held: it is released while a
** changed file is loaded (that runs user code) and taken again.
*/
int fc_registry_refresh_locked(fc_host *h, const char *name, fc_fn_info *info, unsigned long *gen) {
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s.lua", h->dir, name);
  int exists = stat(path, &st) == 0 && S_ISREG(st.st_mode);
  fn_entry *e = fc_registry_find(h, name);
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
  e = fc_registry_find(h, name);
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
  while (e->idle) { /* the old code's workers are not used again */
    worker *w = e->idle;
    e->idle = w->next;
    fc_worker_close(w);
  }
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
  int rc = fc_registry_refresh_locked(h, name, info, NULL);
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

