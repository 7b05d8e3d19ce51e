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

/* Raises a Lua error for a core error code; what names the operation. */
static int core_error(lua_State *L, int rc, const char *what) {
  return luaL_error(L, "%s: %s", what, fc_strerror(rc));
}

static void push_buf(lua_State *L, const fc_buf *b) {
  lua_pushlstring(L, b->data ? b->data : "", b->len);
}

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

static int l_hmac_sha256(lua_State *L) {
  size_t kn, n;
  const char *k = luaL_checklstring(L, 1, &kn);
  const char *s = luaL_checklstring(L, 2, &n);
  unsigned char d[FC_SHA256_LEN];
  int rc = fc_hmac_sha256(k, kn, s, n, d);
  if (rc) return core_error(L, rc, "hmac_sha256");
  lua_pushlstring(L, (const char *)d, sizeof d);
  return 1;
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
  fc_buf b = FC_BUF_INIT((size_t)-2);
  int rc = fn(&b, s, n);
  if (rc == FC_EINVAL) {
    fc_buf_free(&b);
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: malformed input", what);
    return 2;
  }
  if (rc) {
    fc_buf_free(&b);
    return core_error(L, rc, what);
  }
  push_buf(L, &b);
  fc_buf_free(&b);
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

static const char *opt_field(lua_State *L, int t, const char *key, const char *def) {
  lua_getfield(L, t, key);
  const char *s = luaL_optstring(L, -1, def);
  lua_pop(L, 1); /* t keeps it alive */
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
  in.method = opt_field(L, 1, "method", "");
  in.path = opt_field(L, 1, "path", "/");
  in.payload_hash = opt_field(L, 1, "payload_hash", "");
  in.access_key_id = opt_field(L, 1, "access_key_id", NULL);
  in.access_key_secret = opt_field(L, 1, "access_key_secret", NULL);
  in.only = opt_field(L, 1, "only", NULL);
  if (!in.access_key_id || !in.access_key_secret)
    return luaL_error(L, "sign: access_key_id and access_key_secret are required");
  lua_getfield(L, 1, "query"); /* 3 */
  in.query = read_pairs(L, 3, 2, "query", &in.nquery);
  lua_getfield(L, 1, "headers"); /* 4 */
  in.headers = read_pairs(L, 4, 2, "headers", &in.nheaders);
  fc_signature s;
  fc_signature_init(&s);
  int rc = fc_sign(&s, &in);
  if (rc) {
    fc_signature_free(&s);
    return core_error(L, rc, "sign");
  }
  lua_createtable(L, 0, 5);
  push_buf(L, &s.canonical_request);
  lua_setfield(L, -2, "canonical_request");
  push_buf(L, &s.string_to_sign);
  lua_setfield(L, -2, "string_to_sign");
  push_buf(L, &s.signed_headers);
  lua_setfield(L, -2, "signed_headers");
  push_buf(L, &s.authorization);
  lua_setfield(L, -2, "authorization");
  lua_pushstring(L, s.signature);
  lua_setfield(L, -2, "signature");
  fc_signature_free(&s);
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

static long opt_ms(lua_State *L, int t, const char *key) {
  lua_getfield(L, t, key);
  lua_Number s = luaL_optnumber(L, -1, 0);
  lua_pop(L, 1);
  if (s < 0 || s > 86400 * 7) luaL_error(L, "http: %s must be between 0 and 604800 seconds", key);
  return (long)(s * 1000 + 0.5);
}

/*
** http:start{method, url, headers = {"Name: value", ...}, body, timeout,
** connect_timeout, max_body} -> Transfer. Never blocks.
*/
static int http_start(lua_State *L) {
  lhttp *h = check_http(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  fc_http_request req = {0};
  req.method = opt_field(L, 2, "method", "GET");
  lua_getfield(L, 2, "url");
  req.url = luaL_checkstring(L, -1);
  lua_getfield(L, 2, "body");
  req.body = luaL_optlstring(L, -1, NULL, &req.body_len);
  lua_getfield(L, 2, "headers");
  size_t n = lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
  const char **hdr = lua_newuserdatauv(L, (n ? n : 1) * sizeof *hdr, 0);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, -2, (lua_Integer)i + 1);
    hdr[i] = lua_tostring(L, -1);
    if (!hdr[i]) return luaL_error(L, "http: header %d is not a string", (int)i + 1);
    lua_pop(L, 1); /* the headers table keeps it */
  }
  req.headers = hdr;
  req.nheaders = n;
  req.timeout_ms = opt_ms(L, 2, "timeout");
  req.connect_timeout_ms = opt_ms(L, 2, "connect_timeout");
  lua_getfield(L, 2, "max_body");
  req.max_body = (size_t)luaL_optinteger(L, -1, 0);
  lxfer *lx = lua_newuserdatauv(L, sizeof *lx, 1);
  lx->x = NULL;
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
  int ms = t <= 0 ? 0 : t > 3600 ? 3600000 : (int)(t * 1000 + 0.5);
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
  if (!lx->x) luaL_error(L, "attempt to use a cancelled transfer");
  return lx;
}

static int xfer_done(lua_State *L) {
  lua_pushboolean(L, fc_xfer_done(check_xfer(L)->x));
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
** nil, kind, message for a transport failure (kind: connect, dns, timeout,
** tls, toobig, nomem, transport).
*/
static int xfer_response(lua_State *L) {
  lxfer *lx = check_xfer(L);
  if (!fc_xfer_done(lx->x)) return luaL_error(L, "transfer: still running");
  fc_http_response *r = fc_xfer_response(lx->x);
  if (r->error) {
    luaL_pushfail(L);
    lua_pushstring(L, fc_http_error_name(r->error));
    lua_pushstring(L, r->message);
    return 3;
  }
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, r->status);
  lua_setfield(L, -2, "status");
  push_headers(L, &r->headers);
  lua_setfield(L, -2, "headers");
  push_buf(L, &r->body);
  lua_setfield(L, -2, "body");
  lua_pushnumber(L, r->seconds);
  lua_setfield(L, -2, "seconds");
  return 1;
}

/*
** transfer:timing(): where the time of an ended transfer went, whether it
** succeeded or not: {dns, connect, tls, first_byte, total} in seconds from
** its start, bytes_sent and bytes_received (headers and bodies on the wire),
** ended_at (seconds since the epoch). Never any header or body content.
*/
static int xfer_timing(lua_State *L) {
  lxfer *lx = check_xfer(L);
  if (!fc_xfer_done(lx->x)) return luaL_error(L, "transfer: still running");
  const fc_http_timing *t = &fc_xfer_response(lx->x)->timing;
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

static const luaL_Reg funcs[] = {
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
  luaL_newlib(L, funcs);
  return 1;
}
