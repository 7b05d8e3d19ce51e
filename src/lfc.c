/*
** lfc.c: fc.core, the C half of the Lua module fc, and the only place
** where the Lua-free core meets Lua. It offers the signer, the hashes and
** encodings, and HTTP transfers on a shared connection pool; the Lua half
** (lua/fc/) builds the API, the scheduler and the errors on top.
*/
#include "lfc.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "http.h"
#include "sign.h"

#define HTTP_MT "fc.core.Http"
#define XFER_MT "fc.core.Transfer"
#define BOX_MT "fc.core.Box"

/* Raises a Lua error for a core error code; what names the operation. */
static int core_error(lua_State *L, int rc, const char *what) {
  return luaL_error(L, "%s: %s", what, fc_strerror(rc));
}

static void push_buf(lua_State *L, const fc_buf *b) {
  lua_pushlstring(L, b->data ? b->data : "", b->len);
}

/*
** C memory that must survive a Lua error raised while it is held (pushing
** a result can raise a memory error): it lives in a Box userdata, whose
** __gc frees it if the function never got to release() it itself.
*/
typedef struct box {
  void (*free)(struct box *);
  union {
    fc_buf buf;
    fc_signature sig;
  } u;
} box;

static int box_gc(lua_State *L) {
  box *b = luaL_checkudata(L, 1, BOX_MT);
  if (b->free) b->free(b);
  b->free = NULL;
  return 0;
}

static box *new_box(lua_State *L, void (*free_fn)(box *)) {
  box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->free = NULL;
  memset(&b->u, 0, sizeof b->u);
  luaL_setmetatable(L, BOX_MT);
  b->free = free_fn;
  return b;
}

static void release(box *b) {
  if (b->free) b->free(b);
  b->free = NULL;
}

static void free_buf(box *b) { fc_buf_free(&b->u.buf); }
static void free_sig(box *b) { fc_signature_free(&b->u.sig); }

/* ---- hashes and encodings ---------------------------------------------- */

static int l_sha256(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  unsigned char d[FC_SHA256_LEN];
  int rc = fc_sha256(s, n, d);
  if (rc) return core_error(L, rc, "sha256");
  lua_pushlstring(L, (const char *)d, sizeof d);
  return 1;
}

/* The MACs share one shape: (key, text) in, the raw digest out. */
typedef int (*mac_fn)(const void *, size_t, const void *, size_t, unsigned char *);

static int run_mac(lua_State *L, mac_fn fn, size_t len, const char *what) {
  size_t kn, n;
  const char *k = luaL_checklstring(L, 1, &kn);
  const char *s = luaL_checklstring(L, 2, &n);
  unsigned char d[FC_SHA256_LEN]; /* the longest digest */
  int rc = fn(k, kn, s, n, d);
  if (rc) return core_error(L, rc, what);
  lua_pushlstring(L, (const char *)d, len);
  return 1;
}

static int l_hmac_sha256(lua_State *L) {
  return run_mac(L, fc_hmac_sha256, FC_SHA256_LEN, "hmac_sha256");
}

/* core.hmac_sha1(key, text): for STS's RPC signature (SignatureVersion 1.0). */
static int l_hmac_sha1(lua_State *L) {
  return run_mac(L, fc_hmac_sha1, FC_SHA1_LEN, "hmac_sha1");
}

/*
** The encoders share one shape: a string in, a string out through an
** unbounded fc_buf, and nil plus a message for malformed input (as
** io functions do), since bad input here is data, not a program error.
*/
typedef int (*encoder)(fc_buf *, const char *, size_t);

static int run_encoder(lua_State *L, encoder fn, const char *what) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  box *bx = new_box(L, free_buf);
  fc_buf *b = &bx->u.buf;
  fc_buf_init(b, (size_t)-2);
  int rc = fn(b, s, n);
  if (rc == FC_EINVAL) {
    release(bx);
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: malformed input", what);
    return 2;
  }
  if (rc) {
    release(bx);
    return core_error(L, rc, what);
  }
  push_buf(L, b);
  release(bx);
  return 1;
}

static int enc_hex(fc_buf *b, const char *s, size_t n) { return fc_hex_encode(b, s, n); }
static int enc_b64(fc_buf *b, const char *s, size_t n) { return fc_base64_encode(b, s, n); }
static int enc_pct(fc_buf *b, const char *s, size_t n) { return fc_pct_encode(b, s, n, 0); }
static int enc_path(fc_buf *b, const char *s, size_t n) { return fc_pct_encode(b, s, n, 1); }

static int l_hex(lua_State *L) { return run_encoder(L, enc_hex, "hex"); }
static int l_unhex(lua_State *L) { return run_encoder(L, fc_hex_decode, "unhex"); }
static int l_base64(lua_State *L) { return run_encoder(L, enc_b64, "base64"); }
static int l_unbase64(lua_State *L) { return run_encoder(L, fc_base64_decode, "unbase64"); }
static int l_urlencode(lua_State *L) {
  return run_encoder(L, lua_toboolean(L, 2) ? enc_path : enc_pct, "urlencode");
}
static int l_urldecode(lua_State *L) { return run_encoder(L, fc_form_decode, "urldecode"); }

/* core.now(): seconds on a monotonic clock, for timers and durations. */
static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* core.isatty(fd): whether the descriptor is a terminal (progress lines). */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

static int l_random(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= 4096, 1, "between 0 and 4096 bytes");
  unsigned char buf[4096];
  if (fc_random(buf, (size_t)n)) return luaL_error(L, "random: the kernel refused entropy");
  lua_pushlstring(L, (const char *)buf, (size_t)n);
  return 1;
}

/* ---- the signer --------------------------------------------------------- */

/*
** Reads a table of name/value pairs into kv (strings owned by the Lua
** stack: the table stays referenced for the whole call). Accepts a map
** {name = value} whose values may be arrays of values (a repeated header),
** or an array of {name, value} pairs. Numbers and booleans become strings;
** their converted forms are anchored in the table at index "anchor".
*/
static size_t count_pairs(lua_State *L, int t) {
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    n += lua_istable(L, -1) && lua_type(L, -2) == LUA_TSTRING ? lua_rawlen(L, -1) : 1;
    lua_pop(L, 1);
  }
  return n;
}

static const char *as_text(lua_State *L, int idx, int anchor, const char *field,
                           const char *name) {
  int t = lua_type(L, idx);
  if (t == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (strlen(s) != len) luaL_error(L, "sign: %s '%s' holds a NUL byte", field, name);
    return s;
  }
  if (t == LUA_TNUMBER || t == LUA_TBOOLEAN) {
    const char *s = luaL_tolstring(L, idx, NULL); /* pushes the text */
    lua_rawseti(L, anchor, (lua_Integer)lua_rawlen(L, anchor) + 1); /* keeps it alive */
    return s;
  }
  luaL_error(L, "sign: %s '%s' must be a string, number or boolean, not %s", field,
             name, luaL_typename(L, idx));
  return NULL;
}

static fc_kv *read_pairs(lua_State *L, int t, int anchor, const char *field, size_t *nout) {
  *nout = 0;
  if (lua_isnoneornil(L, t)) return NULL;
  if (!lua_istable(L, t)) luaL_error(L, "sign: %s must be a table", field);
  size_t n = count_pairs(L, t), k = 0;
  fc_kv *kv = lua_newuserdatauv(L, (n ? n : 1) * sizeof *kv, 0);
  lua_rawseti(L, anchor, (lua_Integer)lua_rawlen(L, anchor) + 1);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      const char *name = lua_tostring(L, -2);
      if (lua_istable(L, -1)) {
        size_t m = lua_rawlen(L, -1);
        for (size_t i = 1; i <= m; i++) {
          lua_rawgeti(L, -1, (lua_Integer)i);
          kv[k].name = name;
          kv[k++].value = as_text(L, lua_gettop(L), anchor, field, name);
          lua_pop(L, 1);
        }
      } else {
        kv[k].name = name;
        kv[k++].value = as_text(L, lua_gettop(L), anchor, field, name);
      }
    } else if (lua_istable(L, -1)) { /* {name, value} */
      lua_rawgeti(L, -1, 1);
      lua_rawgeti(L, -2, 2);
      if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "sign: %s pairs are {name, value}", field);
      kv[k].name = lua_tostring(L, -2);
      kv[k].value = lua_isnil(L, -1) ? "" : as_text(L, lua_gettop(L), anchor, field, kv[k].name);
      k++;
      lua_pop(L, 2); /* name and value stay referenced by the pair table */
    } else {
      luaL_error(L, "sign: %s must map names to values", field);
    }
    lua_pop(L, 1);
  }
  *nout = k;
  return kv;
}

/*
** An optional text field of table t (a number is converted). The text is
** anchored in the table at index anchor: once the stack slot is popped,
** neither luaL_optstring's converted copy nor a string an __index made up
** would otherwise stay alive.
*/
static const char *opt_field(lua_State *L, int t, const char *key, const char *def, int anchor) {
  int type = lua_getfield(L, t, key);
  if (type == LUA_TNIL) {
    lua_pop(L, 1);
    return def;
  }
  if (type != LUA_TSTRING && type != LUA_TNUMBER)
    luaL_error(L, "%s must be a string, not %s", key, luaL_typename(L, -1));
  const char *s = lua_tostring(L, -1); /* a number becomes a string in its slot */
  lua_rawseti(L, anchor, (lua_Integer)lua_rawlen(L, anchor) + 1);
  return s;
}

/*
** core.sign{method, path, query, headers, payload_hash, access_key_id,
** access_key_secret [, only]}: the pure signer over decoded inputs. It
** adds no header of its own (the Lua side does: date, nonce, hashes).
*/
static int l_sign(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_newtable(L); /* 2: anchor for converted strings and arrays */
  fc_sign_input in = {0};
  in.method = opt_field(L, 1, "method", "", 2);
  in.path = opt_field(L, 1, "path", "/", 2);
  in.payload_hash = opt_field(L, 1, "payload_hash", "", 2);
  in.access_key_id = opt_field(L, 1, "access_key_id", NULL, 2);
  in.access_key_secret = opt_field(L, 1, "access_key_secret", NULL, 2);
  in.only = opt_field(L, 1, "only", NULL, 2);
  if (!in.access_key_id || !in.access_key_secret)
    return luaL_error(L, "sign: access_key_id and access_key_secret are required");
  lua_getfield(L, 1, "query"); /* 3 */
  in.query = read_pairs(L, 3, 2, "query", &in.nquery);
  lua_getfield(L, 1, "headers"); /* 4 */
  in.headers = read_pairs(L, 4, 2, "headers", &in.nheaders);
  box *bx = new_box(L, free_sig);
  fc_signature_init(&bx->u.sig);
  fc_signature *sig = &bx->u.sig;
  int rc = fc_sign(sig, &in);
  if (rc) {
    release(bx);
    return core_error(L, rc, "sign");
  }
  lua_createtable(L, 0, 5);
  push_buf(L, &sig->canonical_request);
  lua_setfield(L, -2, "canonical_request");
  push_buf(L, &sig->string_to_sign);
  lua_setfield(L, -2, "string_to_sign");
  push_buf(L, &sig->signed_headers);
  lua_setfield(L, -2, "signed_headers");
  push_buf(L, &sig->authorization);
  lua_setfield(L, -2, "authorization");
  lua_pushstring(L, sig->signature);
  lua_setfield(L, -2, "signature");
  release(bx);
  return 1;
}

/* ---- HTTP --------------------------------------------------------------- */

/*
** An Http userdata owns one fc_http (a connection pool). Its user value is
** a table that keeps every running Transfer userdata alive, keyed by its
** light pointer, so the collector never frees a transfer curl still uses.
*/
typedef struct lhttp {
  fc_http *h;
} lhttp;

typedef struct lxfer {
  fc_xfer *x;
  int taken; /* response() was called: x is freed, its result is in Lua */
  fc_http_timing timing; /* kept from x when its response is taken */
} lxfer;

static lhttp *check_http(lua_State *L) {
  lhttp *h = luaL_checkudata(L, 1, HTTP_MT);
  if (!h->h) luaL_error(L, "attempt to use a closed connection pool");
  return h;
}

static int l_http(lua_State *L) {
  lhttp *h = lua_newuserdatauv(L, sizeof *h, 1);
  h->h = NULL;
  luaL_setmetatable(L, HTTP_MT);
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  if (!(h->h = fc_http_new())) return luaL_error(L, "http: cannot create a curl multi handle");
  return 1;
}

static int http_gc(lua_State *L) {
  lhttp *h = luaL_checkudata(L, 1, HTTP_MT);
  if (h->h) {
    fc_http_free(h->h); /* detaches running transfers; their userdata free them */
    h->h = NULL;
  }
  return 0;
}

/*
** A timeout in seconds as curl's milliseconds, rounded up: 0 means "none"
** to curl, so any positive time is at least 1 ms.
*/
static long opt_ms(lua_State *L, int t, const char *key) {
  lua_getfield(L, t, key);
  lua_Number s = luaL_optnumber(L, -1, 0);
  lua_pop(L, 1);
  if (!(s >= 0 && s <= 86400 * 7))
    luaL_error(L, "http: %s must be between 0 and 604800 seconds", key);
  long ms = (long)(s * 1000);
  return (lua_Number)ms < s * 1000 ? ms + 1 : ms;
}

/*
** http:start{method, url, headers = {"Name: value", ...}, body, timeout,
** connect_timeout, max_body, ca_file} -> Transfer. Never blocks.
*/
static int http_start(lua_State *L) {
  lhttp *h = check_http(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_newtable(L); /* 3: anchor for converted numbers */
  fc_http_request req = {0};
  req.method = opt_field(L, 2, "method", "GET", 3);
  if (!*req.method || strspn(req.method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(req.method))
    return luaL_error(L, "http: method must be upper-case letters");
  req.url = opt_field(L, 2, "url", NULL, 3);
  if (!req.url) return luaL_error(L, "http: url is required");
  req.ca_file = opt_field(L, 2, "ca_file", NULL, 3);
  lua_getfield(L, 2, "body"); /* 4 */
  req.body = luaL_optlstring(L, -1, NULL, &req.body_len);
  lua_getfield(L, 2, "headers"); /* 5 */
  size_t n = lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
  const char **hdr = lua_newuserdatauv(L, (n ? n : 1) * sizeof *hdr, 0);
  for (size_t i = 0; i < n; i++) {
    size_t len;
    if (lua_rawgeti(L, 5, (lua_Integer)i + 1) != LUA_TSTRING)
      return luaL_error(L, "http: header %d is not a string", (int)i + 1);
    hdr[i] = lua_tolstring(L, -1, &len);
    if (strlen(hdr[i]) != len || strpbrk(hdr[i], "\r\n"))
      return luaL_error(L, "http: header %d holds a NUL, CR or LF", (int)i + 1);
    lua_pop(L, 1); /* the headers table keeps it */
  }
  req.headers = hdr;
  req.nheaders = n;
  req.timeout_ms = opt_ms(L, 2, "timeout");
  req.connect_timeout_ms = opt_ms(L, 2, "connect_timeout");
  if (lua_getfield(L, 2, "max_body") != LUA_TNIL) {
    int isint;
    lua_Integer m = lua_tointegerx(L, -1, &isint);
    if (!isint || m < 1) return luaL_error(L, "http: max_body must be a positive integer");
    req.max_body = (size_t)m;
  }
  lxfer *lx = lua_newuserdatauv(L, sizeof *lx, 1);
  lx->x = NULL;
  lx->taken = 0;
  memset(&lx->timing, 0, sizeof lx->timing);
  luaL_setmetatable(L, XFER_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1); /* its pool, to forget it when cancelled */
  int err;
  lx->x = fc_http_start(h->h, &req, lx, &err);
  if (!lx->x) return core_error(L, err, "http");
  lua_getiuservalue(L, 1, 1);
  lua_pushlightuserdata(L, lx);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return 1;
}

typedef struct poll_state {
  lua_State *L;
  int running; /* index of the running table */
  int done;    /* index of the result array */
  int n;
} poll_state;

static void on_done(fc_xfer *x, void *arg) {
  poll_state *ps = arg;
  lua_State *L = ps->L;
  lua_pushlightuserdata(L, fc_xfer_user(x));
  lua_rawget(L, ps->running);
  lua_rawseti(L, ps->done, ++ps->n);
  lua_pushlightuserdata(L, fc_xfer_user(x));
  lua_pushnil(L);
  lua_rawset(L, ps->running);
}

/*
** http:poll([timeout]) -> running, {finished transfers}: drives every
** transfer, waiting at most timeout seconds for one to make progress.
*/
static int http_poll(lua_State *L) {
  lhttp *h = check_http(L);
  lua_Number t = luaL_optnumber(L, 2, 0);
  /* NaN and negatives: no wait; a positive wait is at least 1 ms */
  int ms = !(t > 0) ? 0 : t > 3600 ? 3600000 : (int)(t * 1000) + ((lua_Number)(int)(t * 1000) < t * 1000);
  lua_settop(L, 1);
  lua_getiuservalue(L, 1, 1); /* 2 */
  lua_newtable(L);            /* 3 */
  poll_state ps = {L, 2, 3, 0};
  int running = fc_http_poll(h->h, ms, on_done, &ps);
  if (running < 0) return luaL_error(L, "http: curl multi interface failed");
  lua_pushinteger(L, running);
  lua_insert(L, 3);
  return 2;
}

static lxfer *check_xfer(lua_State *L) {
  lxfer *lx = luaL_checkudata(L, 1, XFER_MT);
  if (lx->taken) luaL_error(L, "transfer: its response was already taken");
  if (!lx->x) luaL_error(L, "attempt to use a cancelled transfer");
  return lx;
}

static int xfer_done(lua_State *L) {
  lxfer *lx = luaL_checkudata(L, 1, XFER_MT);
  lua_pushboolean(L, lx->taken || fc_xfer_done(check_xfer(L)->x));
  return 1;
}

/*
** Parses "name: value\r\n" lines into t; a repeated name's values are
** joined with ", " as HTTP allows.
*/
static void push_headers(lua_State *L, const fc_buf *b) {
  lua_newtable(L);
  const char *p = fc_buf_str(b), *end = p + b->len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *stop = eol ? eol : end;
    const char *colon = memchr(p, ':', (size_t)(stop - p));
    if (colon) {
      const char *v = colon + 1, *ve = stop;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      lua_pushlstring(L, p, (size_t)(colon - p));
      lua_pushvalue(L, -1);
      if (lua_rawget(L, -3) == LUA_TSTRING) {
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, v, (size_t)(ve - v));
        lua_concat(L, 3);
      } else {
        lua_pop(L, 1);
        lua_pushlstring(L, v, (size_t)(ve - v));
      }
      lua_rawset(L, -3);
    }
    p = stop + 1;
  }
}

/*
** transfer:response() -> {status, headers, body, seconds} once done, or
** nil, kind, message, sent for a transport failure (kind: connect, dns,
** timeout, tls, toobig, nomem, closed, transport; sent: false only when no
** byte of the request was written). Once: the transfer's memory is freed as
** soon as its result is in Lua, so memory tracks what the script holds.
*/
static int xfer_response(lua_State *L) {
  lxfer *lx = check_xfer(L);
  if (!fc_xfer_done(lx->x)) return luaL_error(L, "transfer: still running");
  fc_http_response *r = fc_xfer_response(lx->x);
  int nres;
  if (r->error) {
    luaL_pushfail(L);
    lua_pushstring(L, fc_http_error_name(r->error));
    lua_pushstring(L, r->message);
    lua_pushboolean(L, r->sent);
    nres = 4;
  } else {
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, r->status);
    lua_setfield(L, -2, "status");
    push_headers(L, &r->headers);
    lua_setfield(L, -2, "headers");
    push_buf(L, &r->body);
    lua_setfield(L, -2, "body");
    lua_pushnumber(L, r->seconds);
    lua_setfield(L, -2, "seconds");
    nres = 1;
  }
  lx->timing = r->timing;
  fc_xfer_free(lx->x);
  lx->x = NULL;
  lx->taken = 1;
  return nres;
}

/*
** transfer:timing(): where the time of an ended transfer went, whether it
** succeeded or not, before or after its response was taken: {dns, connect, tls, first_byte, total} in seconds from
** its start, bytes_sent and bytes_received (headers and bodies on the wire),
** ended_at (seconds since the epoch). Never any header or body content.
*/
static int xfer_timing(lua_State *L) {
  lxfer *lx = luaL_checkudata(L, 1, XFER_MT);
  const fc_http_timing *t = &lx->timing;
  if (!lx->taken) {
    if (!fc_xfer_done(check_xfer(L)->x)) return luaL_error(L, "transfer: still running");
    t = &fc_xfer_response(lx->x)->timing;
  }
  lua_createtable(L, 0, 8);
#define NUM(field) lua_pushnumber(L, t->field); lua_setfield(L, -2, #field)
  NUM(dns); NUM(connect); NUM(tls); NUM(first_byte); NUM(total);
  NUM(ended_at);
#undef NUM
  lua_pushinteger(L, (lua_Integer)t->bytes_sent);
  lua_setfield(L, -2, "bytes_sent");
  lua_pushinteger(L, (lua_Integer)t->bytes_received);
  lua_setfield(L, -2, "bytes_received");
  return 1;
}

static int xfer_gc(lua_State *L) {
  lxfer *lx = luaL_checkudata(L, 1, XFER_MT);
  fc_xfer_free(lx->x);
  lx->x = NULL;
  return 0;
}

/* transfer:cancel(): aborts a running transfer; the pool forgets it. */
static int xfer_cancel(lua_State *L) {
  lxfer *lx = luaL_checkudata(L, 1, XFER_MT);
  if (lua_getiuservalue(L, 1, 1) == LUA_TUSERDATA && lua_getiuservalue(L, -1, 1) == LUA_TTABLE) {
    lua_pushlightuserdata(L, lx);
    lua_pushnil(L);
    lua_rawset(L, -3);
  }
  return xfer_gc(L);
}

static const luaL_Reg http_methods[] = {
    {"start", http_start}, {"poll", http_poll}, {NULL, NULL}};
static const luaL_Reg http_meta[] = {
    {"__index", NULL}, {"__gc", http_gc}, {"__close", http_gc}, {NULL, NULL}};
static const luaL_Reg xfer_methods[] = {
    {"done", xfer_done}, {"response", xfer_response}, {"cancel", xfer_cancel},
    {"timing", xfer_timing}, {NULL, NULL}};
static const luaL_Reg xfer_meta[] = {
    {"__index", NULL}, {"__gc", xfer_gc}, {"__close", xfer_gc}, {NULL, NULL}};
static const luaL_Reg box_meta[] = {{"__gc", box_gc}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"hmac_sha1", l_hmac_sha1},
    {"sha256", l_sha256},     {"hmac_sha256", l_hmac_sha256},
    {"hex", l_hex},           {"unhex", l_unhex},
    {"base64", l_base64},     {"unbase64", l_unbase64},
    {"urlencode", l_urlencode}, {"urldecode", l_urldecode},
    {"random", l_random},     {"now", l_now},
        {"sign", l_sign},     {"isatty", l_isatty},
    {"http", l_http},         {NULL, NULL}};

static void new_class(lua_State *L, const char *name, const luaL_Reg *meta,
                      const luaL_Reg *methods) {
  luaL_newmetatable(L, name);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

int luaopen_fc_core(lua_State *L) {
  new_class(L, HTTP_MT, http_meta, http_methods);
  new_class(L, XFER_MT, xfer_meta, xfer_methods);
  luaL_newmetatable(L, BOX_MT);
  luaL_setfuncs(L, box_meta, 0);
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
