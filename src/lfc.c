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
#include "request.h"
#include "sign.h"

#define HTTP_MT "fc.core.Http"
#define XFER_MT "fc.core.Transfer"
#define BOX_MT "fc.core.Box"
#define KEY_MT "fc.core.Key"
#define ENDPOINT_MT "fc.core.Endpoint"

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
** The {name = value} map at idx (nil: none) as n pairs: names are strings;
** values strings, or numbers and booleans converted to text, which stays
** on the stack (so alive for the call, as the table keeps the rest). The
** pairs go into kv when there are at most cap of them, else into an array
** in a userdata also left on the stack.
*/
static const fc_kv *read_map(lua_State *L, int idx, fc_kv *kv, size_t cap, const char *what,
                             size_t *nout) {
  size_t n = 0, total = 0;
  *nout = 0;
  if (lua_isnoneornil(L, idx)) return kv;
  if (!lua_istable(L, idx)) luaL_error(L, "sign: %s must be a table", what);
  idx = lua_absindex(L, idx);
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) total++;
  if (total > cap) kv = lua_newuserdatauv(L, total * sizeof *kv, 0);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t len;
    int t = lua_type(L, -1), v = -1;
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "sign: %s must map names to values", what);
    const char *name = lua_tolstring(L, -2, &len);
    if (strlen(name) != len) luaL_error(L, "sign: a %s name holds a NUL byte", what);
    if (t == LUA_TNUMBER || t == LUA_TBOOLEAN) {
      luaL_checkstack(L, 3, what);
      luaL_tolstring(L, -1, NULL);
      lua_insert(L, -3); /* under the key: it stays on the stack */
      v = -3;
    } else if (t != LUA_TSTRING) {
      luaL_error(L, "sign: %s '%s' must be a string, number or boolean, not %s", what, name,
                 luaL_typename(L, -1));
    }
    kv[n].name = name;
    kv[n].value = lua_tolstring(L, v, &len);
    if (strlen(kv[n].value) != len) luaL_error(L, "sign: %s '%s' holds a NUL byte", what, name);
    n++;
    lua_pop(L, 1);
  }
  *nout = n;
  return kv;
}

enum { STACK_PAIRS = 32 }; /* a request's query or headers, usually */

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
  fc_kv query[STACK_PAIRS], headers[STACK_PAIRS];
  lua_getfield(L, 1, "query"); /* 3 */
  in.query = read_map(L, 3, query, STACK_PAIRS, "query", &in.nquery);
  lua_getfield(L, 1, "headers");
  in.headers = read_map(L, -1, headers, STACK_PAIRS, "header", &in.nheaders);
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
static long ms_of(lua_State *L, lua_Number s, const char *key) {
  if (!(s >= 0 && s <= 86400 * 7))
    luaL_error(L, "http: %s must be between 0 and 604800 seconds", key);
  long ms = (long)(s * 1000);
  return (lua_Number)ms < s * 1000 ? ms + 1 : ms;
}

static long opt_ms(lua_State *L, int t, const char *key) {
  lua_getfield(L, t, key);
  lua_Number s = luaL_optnumber(L, -1, 0);
  lua_pop(L, 1);
  return ms_of(L, s, key);
}

/*
** Starts req on the pool at index pool and pushes its Transfer, which the
** pool's running table keeps alive until it ends.
*/
static void push_xfer(lua_State *L, int pool, lhttp *h, const fc_http_request *req) {
  lxfer *lx = lua_newuserdatauv(L, sizeof *lx, 1);
  lx->x = NULL;
  lx->taken = 0;
  memset(&lx->timing, 0, sizeof lx->timing);
  luaL_setmetatable(L, XFER_MT);
  lua_pushvalue(L, pool);
  lua_setiuservalue(L, -2, 1); /* its pool, to forget it when cancelled */
  int err;
  lx->x = fc_http_start(h->h, req, lx, &err);
  if (!lx->x) core_error(L, err, "http");
  lua_getiuservalue(L, pool, 1);
  lua_pushlightuserdata(L, lx);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  lua_pop(L, 1);
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
  push_xfer(L, 1, h, &req);
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
  const char *p = fc_buf_str(b), *end = p + b->len;
  int lines = 0;
  for (const char *q = p; (q = memchr(q, '\n', (size_t)(end - q))); q++) lines++;
  lua_createtable(L, 0, lines); /* sized once: no rehash as it fills */
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
    lua_createtable(L, 0, 5); /* and the client's "attempts" */
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

/* The timing of the ended transfer at 1, kept when its response was taken. */
static const fc_http_timing *ended_timing(lua_State *L) {
  lxfer *lx = luaL_checkudata(L, 1, XFER_MT);
  if (lx->taken) return &lx->timing;
  if (!fc_xfer_done(check_xfer(L)->x)) luaL_error(L, "transfer: still running");
  return &fc_xfer_response(lx->x)->timing;
}

/*
** transfer:timing(): where the time of an ended transfer went, whether it
** succeeded or not, before or after its response was taken: {dns, connect,
** tls, first_byte, total} in seconds from its start, bytes_sent and
** bytes_received (headers and bodies on the wire), ended_at (seconds since
** the epoch). Never any header or body content.
*/
static int xfer_timing(lua_State *L) {
  const fc_http_timing *t = ended_timing(L);
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

/*
** transfer:totals() -> total seconds, bytes sent, bytes received, ended_at:
** what the run's counters need of timing(), without a table.
*/
static int xfer_totals(lua_State *L) {
  const fc_http_timing *t = ended_timing(L);
  lua_pushnumber(L, t->total);
  lua_pushinteger(L, (lua_Integer)t->bytes_sent);
  lua_pushinteger(L, (lua_Integer)t->bytes_received);
  lua_pushnumber(L, t->ended_at);
  return 4;
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

/* ---- keys and endpoints: a request signed and started in one call ------- */

/*
** core.key(id, secret [, token]) -> Key: an AccessKey held in C memory. No
** field, method or __tostring shows the secret (or the token, but through
** key:token() for an STS call that must carry it); freed and zeroed when
** collected or closed. secret may be a Key: its secret, with this id and
** token (a secret sealed before its id was known).
*/
typedef struct lkey {
  fc_key *k;
} lkey;

/* fc_key_new refuses what would break a header; a NUL would cut the text short. */
static const char *check_text(lua_State *L, int idx, const char *what) {
  size_t len;
  const char *s = luaL_checklstring(L, idx, &len);
  if (strlen(s) != len) luaL_error(L, "key: the %s holds a NUL byte", what);
  return s;
}

static int l_key(lua_State *L) {
  const char *id = check_text(L, 1, "access key id");
  lkey *sealed = luaL_testudata(L, 2, KEY_MT);
  const char *secret = sealed ? NULL : check_text(L, 2, "access key secret");
  const char *token = lua_isnoneornil(L, 3) ? NULL : check_text(L, 3, "security token");
  if (sealed && !sealed->k) return luaL_error(L, "attempt to use a closed key");
  lkey *k = lua_newuserdatauv(L, sizeof *k, 0);
  k->k = NULL;
  luaL_setmetatable(L, KEY_MT);
  int err;
  k->k = sealed ? fc_key_rekey(sealed->k, id, token, &err) : fc_key_new(id, secret, token, &err);
  if (err == FC_EINVAL) return luaL_error(L, "key: the access key id or the token holds a control character");
  if (!k->k) return core_error(L, err, "key");
  return 1;
}

static fc_key *check_key(lua_State *L, int idx) {
  lkey *k = luaL_checkudata(L, idx, KEY_MT);
  if (!k->k) luaL_error(L, "attempt to use a closed key");
  return k->k;
}

static int key_gc(lua_State *L) {
  lkey *k = luaL_checkudata(L, 1, KEY_MT);
  fc_key_free(k->k);
  k->k = NULL;
  return 0;
}

static int key_tostring(lua_State *L) {
  lkey *k = luaL_checkudata(L, 1, KEY_MT);
  lua_pushfstring(L, "fc.core.Key(%s)", k->k ? fc_key_id(k->k) : "closed");
  return 1;
}

static int key_id(lua_State *L) {
  lua_pushstring(L, fc_key_id(check_key(L, 1)));
  return 1;
}

static int key_token(lua_State *L) {
  const char *t = fc_key_token(check_key(L, 1));
  if (t) lua_pushstring(L, t);
  else lua_pushnil(L);
  return 1;
}

/* key:rpc_signature(text): base64(HMAC-SHA1(secret "&", text)), for STS. */
static int key_rpc_signature(lua_State *L) {
  fc_key *k = check_key(L, 1);
  size_t n;
  const char *text = luaL_checklstring(L, 2, &n);
  box *bx = new_box(L, free_buf);
  fc_buf_init(&bx->u.buf, 64);
  int rc = fc_key_rpc_signature(k, text, n, &bx->u.buf);
  if (rc) {
    release(bx);
    return core_error(L, rc, "rpc_signature");
  }
  push_buf(L, &bx->u.buf);
  release(bx);
  return 1;
}

/*
** core.endpoint{scheme, host, version, user_agent, ca_file,
** connect_timeout, max_body} -> Endpoint: what every request of a client
** shares, and the buffers its requests are signed in (kept between them).
*/
typedef struct lendpoint {
  const char *scheme, *host, *version, *user_agent, *ca_file; /* in the user value */
  long connect_timeout_ms;
  size_t max_body;
  fc_wire wire;
} lendpoint;

static const char *need_field(lua_State *L, int t, const char *key, int anchor) {
  const char *s = opt_field(L, t, key, NULL, anchor);
  if (!s) luaL_error(L, "endpoint: %s is required", key);
  return s;
}

static int l_endpoint(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lendpoint *e = lua_newuserdatauv(L, sizeof *e, 1); /* 2 */
  memset(e, 0, sizeof *e);
  fc_wire_init(&e->wire);
  luaL_setmetatable(L, ENDPOINT_MT);
  lua_newtable(L); /* 3: keeps the strings */
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, 2, 1);
  e->scheme = need_field(L, 1, "scheme", 3);
  e->host = need_field(L, 1, "host", 3);
  e->version = need_field(L, 1, "version", 3);
  e->user_agent = need_field(L, 1, "user_agent", 3);
  e->ca_file = opt_field(L, 1, "ca_file", NULL, 3);
  e->connect_timeout_ms = opt_ms(L, 1, "connect_timeout");
  if (lua_getfield(L, 1, "max_body") != LUA_TNIL) {
    int isint;
    lua_Integer m = lua_tointegerx(L, -1, &isint);
    if (!isint || m < 1) return luaL_error(L, "endpoint: max_body must be a positive integer");
    e->max_body = (size_t)m;
  }
  lua_settop(L, 2);
  return 1;
}

static int endpoint_gc(lua_State *L) {
  lendpoint *e = luaL_checkudata(L, 1, ENDPOINT_MT);
  fc_wire_free(&e->wire);
  return 0;
}

/*
** Signs the request at stack indexes first.. (key, method, path, query,
** headers, body) into e->wire.
*/
static void sign_request(lua_State *L, lendpoint *e, int first) {
  fc_kv query[STACK_PAIRS], headers[STACK_PAIRS];
  fc_key *k = check_key(L, first);
  fc_request r = {0};
  r.method = luaL_checkstring(L, first + 1);
  if (!*r.method || strspn(r.method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(r.method))
    luaL_error(L, "sign: method must be upper-case letters");
  r.path = luaL_checkstring(L, first + 2);
  r.body = luaL_optlstring(L, first + 5, NULL, &r.body_len);
  r.scheme = e->scheme;
  r.host = e->host;
  r.version = e->version;
  r.user_agent = e->user_agent;
  r.query = read_map(L, first + 3, query, STACK_PAIRS, "query", &r.nquery);
  r.headers = read_map(L, first + 4, headers, STACK_PAIRS, "header", &r.nheaders);
  int rc = fc_wire_sign(&e->wire, k, &r);
  if (rc == FC_EINVAL) luaL_error(L, "sign: a header name or value cannot go on the wire");
  if (rc) core_error(L, rc, "sign");
}

/*
** endpoint:start(pool, key, method, path, query, headers, body, timeout)
** -> Transfer: the request signed (a fresh date and nonce) and started.
*/
static int endpoint_start(lua_State *L) {
  lendpoint *e = luaL_checkudata(L, 1, ENDPOINT_MT);
  lhttp *h = luaL_checkudata(L, 2, HTTP_MT);
  if (!h->h) return luaL_error(L, "attempt to use a closed connection pool");
  sign_request(L, e, 3);
  fc_http_request req = {0};
  req.method = lua_tostring(L, 4);
  req.url = e->wire.url;
  req.headers = e->wire.lines;
  req.nheaders = e->wire.nlines;
  req.body = lua_tolstring(L, 8, &req.body_len);
  req.timeout_ms = ms_of(L, luaL_optnumber(L, 9, 0), "timeout");
  req.connect_timeout_ms = e->connect_timeout_ms;
  req.max_body = e->max_body;
  req.ca_file = e->ca_file;
  push_xfer(L, 2, h, &req);
  return 1;
}

/*
** endpoint:sign(key, method, path, query, headers, body) -> url, lines:
** what start would send ("name: value" lines), for a dry run.
*/
static int endpoint_sign(lua_State *L) {
  lendpoint *e = luaL_checkudata(L, 1, ENDPOINT_MT);
  sign_request(L, e, 2);
  lua_pushstring(L, e->wire.url);
  lua_createtable(L, (int)e->wire.nlines, 0);
  for (size_t i = 0; i < e->wire.nlines; i++) {
    lua_pushstring(L, e->wire.lines[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 2;
}

static const luaL_Reg http_methods[] = {
    {"start", http_start}, {"poll", http_poll}, {NULL, NULL}};
static const luaL_Reg http_meta[] = {
    {"__index", NULL}, {"__gc", http_gc}, {"__close", http_gc}, {NULL, NULL}};
static const luaL_Reg xfer_methods[] = {
    {"done", xfer_done}, {"response", xfer_response}, {"cancel", xfer_cancel},
    {"timing", xfer_timing}, {"totals", xfer_totals}, {NULL, NULL}};
static const luaL_Reg xfer_meta[] = {
    {"__index", NULL}, {"__gc", xfer_gc}, {"__close", xfer_gc}, {NULL, NULL}};
static const luaL_Reg box_meta[] = {{"__gc", box_gc}, {NULL, NULL}};
static const luaL_Reg key_methods[] = {
    {"id", key_id}, {"token", key_token}, {"rpc_signature", key_rpc_signature}, {NULL, NULL}};
static const luaL_Reg key_meta[] = {{"__index", NULL}, {"__gc", key_gc}, {"__close", key_gc},
                                    {"__tostring", key_tostring}, {NULL, NULL}};
static const luaL_Reg endpoint_methods[] = {
    {"start", endpoint_start}, {"sign", endpoint_sign}, {NULL, NULL}};
static const luaL_Reg endpoint_meta[] = {{"__index", NULL}, {"__gc", endpoint_gc}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"hmac_sha1", l_hmac_sha1},
    {"sha256", l_sha256},     {"hmac_sha256", l_hmac_sha256},
    {"hex", l_hex},           {"unhex", l_unhex},
    {"base64", l_base64},     {"unbase64", l_unbase64},
    {"urlencode", l_urlencode}, {"urldecode", l_urldecode},
    {"random", l_random},     {"now", l_now},
        {"sign", l_sign},     {"isatty", l_isatty},
    {"http", l_http},         {"key", l_key},
    {"endpoint", l_endpoint}, {NULL, NULL}};

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
  new_class(L, KEY_MT, key_meta, key_methods);
  new_class(L, ENDPOINT_MT, endpoint_meta, endpoint_methods);
  luaL_newmetatable(L, BOX_MT);
  luaL_setfuncs(L, box_meta, 0);
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
