/*
** emu.c: the HTTP side of the emulator. libmicrohttpd runs one thread per
** connection; each request is read (bounded), verified like FC verifies it,
** routed, and answered with FC's headers and JSON shapes. Handlers run in
** the connection's thread on a worker lua_State borrowed from the host, so
** a slow function holds one connection and one worker, nothing else.
*/
#include "emu.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "crypto.h"
#include "encode.h"
#include "host.h"
#include "tasks.h"
#include "util.h"
#include "verify.h"

#define OTHER_BODY_MAX (1u << 20) /* bodies of calls other than InvokeFunction */
#define MAX_HEADERS 256
#define MAX_QUERY 64
#define NONCE_CAPACITY (1u << 22) /* 32 bytes each, touched as used */
#define TASK_RUNNERS 8
#define DEFAULT_CONNECTIONS 1000
#define STOP_GRACE_MS 1500 /* running calls may finish within this at a stop */
#define API_PREFIX "/2023-03-30/functions"

struct fc_emu {
  struct MHD_Daemon *daemon;
  fc_host *host;
  fc_tasks *tasks;
  fc_nonce_store *nonces;
  char *key_id, *key_secret, *token;
  fc_verify_keys keys;
  char arn_prefix[128];
  int verbose;
  unsigned short port;
  unsigned max_connections;
  atomic_int connections; /* open now */
  atomic_int requests;    /* between their headers and their completion */
};

/* One HTTP request, from its headers to the completion notice. */
typedef struct request {
  fc_buf body;
  size_t discarded; /* bytes dropped after the body passed its bound */
  int too_big, nomem, answered;
  struct timespec t0;
  char id[64];
  char hash[72]; /* x-acs-content-sha256, verified against the body at the end */
} request;

/* ------------------------------------------------------------------------ */
/* Responses                                                                 */
/* ------------------------------------------------------------------------ */

/* "1-<8 hex of unix time>-<24 random hex>" */
static void new_request_id(char *out, size_t cap) { fc_random_id(out, cap, "1-", 12); }

static void access_log(fc_emu *e, request *r, const char *method, const char *url, int status) {
  if (!e->verbose) return;
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  double ms = (double)(t.tv_sec - r->t0.tv_sec) * 1e3 + (double)(t.tv_nsec - r->t0.tv_nsec) / 1e6;
  fprintf(stderr, "%s %s %d %s %.2fms\n", method, url, status, r->id, ms);
}

typedef struct hdr {
  const char *name, *value;
} hdr;

/* Queues status + body (taken over from buf) with the common headers. */
static enum MHD_Result respond(fc_emu *e, struct MHD_Connection *c, request *r,
                               const char *method, const char *url, int status, fc_buf *buf,
                               const char *content_type, const hdr *extra, size_t nextra) {
  size_t len = 0;
  char *data = buf ? fc_buf_steal(buf, &len) : NULL;
  struct MHD_Response *resp =
      data ? MHD_create_response_from_buffer_with_free_callback(len, data, free)
           : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  if (!resp) {
    free(data);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "x-fc-request-id", r->id);
  if (content_type) MHD_add_response_header(resp, "content-type", content_type);
  for (size_t i = 0; i < nextra; i++)
    if (extra[i].value) MHD_add_response_header(resp, extra[i].name, extra[i].value);
  enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
  MHD_destroy_response(resp);
  r->answered = 1;
  access_log(e, r, method, url, status);
  return ok;
}

/* FC's error shape: {"Code","Message","RequestId"}. */
static enum MHD_Result fail(fc_emu *e, struct MHD_Connection *c, request *r, const char *method,
                            const char *url, int status, const char *code, const char *fmt,
                            ...) __attribute__((format(printf, 8, 9)));
static enum MHD_Result fail(fc_emu *e, struct MHD_Connection *c, request *r, const char *method,
                            const char *url, int status, const char *code, const char *fmt,
                            ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fc_buf b = FC_BUF_INIT(4096);
  int rc = fc_buf_printf(&b, "{\"Code\":\"%s\",\"Message\":", code);
  if (!rc) rc = fc_json_str(&b, msg, strlen(msg));
  if (!rc) rc = fc_buf_printf(&b, ",\"RequestId\":\"%s\"}", r->id);
  if (rc) {
    fc_buf_free(&b);
    return respond(e, c, r, method, url, 500, NULL, NULL, NULL, 0);
  }
  return respond(e, c, r, method, url, status, &b, "application/json", NULL, 0);
}

#define INTERNAL(e, c, r, m, u) \
  fail(e, c, r, m, u, 500, "InternalServerError", "an internal error has occurred. Please retry.")

/* ------------------------------------------------------------------------ */
/* Request parsing                                                           */
/* ------------------------------------------------------------------------ */

typedef struct kv_list {
  fc_kv *v;
  size_t n, cap;
  int overflow;
} kv_list;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value) {
  (void)kind;
  kv_list *l = cls;
  if (l->n == l->cap) {
    l->overflow = 1;
    return MHD_NO;
  }
  l->v[l->n].name = key;
  l->v[l->n].value = value ? value : "";
  l->n++;
  return MHD_YES;
}

static const char *header(struct MHD_Connection *c, const char *name) {
  return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static const char *arg(struct MHD_Connection *c, const char *name) {
  return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* The path split at '/': at most 8 segments, each copied into seg. */
typedef struct route {
  char seg[8][FC_TASK_ID_MAX + 2];
  int n;
} route;

static int split_path(const char *url, route *rt) {
  rt->n = 0;
  const char *p = url;
  while (*p == '/') p++;
  while (*p) {
    size_t k = strcspn(p, "/");
    if (rt->n == 8 || k >= sizeof rt->seg[0]) return -1;
    memcpy(rt->seg[rt->n], p, k);
    rt->seg[rt->n][k] = '\0';
    rt->n++;
    p += k;
    while (*p == '/') p++;
  }
  return 0;
}

static int is_invocation(const char *method, const char *url) {
  route rt;
  return strcmp(method, "POST") == 0 && split_path(url, &rt) == 0 && rt.n == 4 &&
         strcmp(rt.seg[0], "2023-03-30") == 0 && strcmp(rt.seg[1], "functions") == 0 &&
         strcmp(rt.seg[3], "invocations") == 0;
}

static int is_async(struct MHD_Connection *c) {
  const char *t = header(c, "x-fc-invocation-type");
  return t && strcasecmp(t, "Async") == 0;
}

/* ------------------------------------------------------------------------ */
/* Operations                                                                */
/* ------------------------------------------------------------------------ */

static void iso_time(char *out, size_t cap, long long ms) {
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A Function object with FC's field names. */
static int function_json(fc_emu *e, const fc_fn_info *f, fc_buf *out) {
  char created[32], modified[32];
  iso_time(created, sizeof created, f->created_ms);
  iso_time(modified, sizeof modified, f->modified_ms);
  uint64_t a = fc_crc64(0, f->name, strlen(f->name));
  uint64_t b = fc_crc64(a, "fcrun", 5);
  int rc = fc_buf_printf(
      out,
      "{\"functionName\":\"%s\",\"functionId\":\"%08llx-%04llx-%04llx-%04llx-%012llx\","
      "\"functionArn\":\"%s%s\",\"runtime\":\"custom.lua5.4\",\"handler\":\"index.handler\","
      "\"timeout\":%d,\"memorySize\":%d,\"instanceConcurrency\":%d,\"cpu\":%.2f,"
      "\"diskSize\":512,\"codeChecksum\":\"%llu\",\"codeSize\":%lld,"
      "\"createdTime\":\"%s\",\"lastModifiedTime\":\"%s\",\"state\":\"%s\",\"description\":",
      f->name, (unsigned long long)(a >> 32), (unsigned long long)(a >> 16) & 0xffff,
      (unsigned long long)a & 0xffff, (unsigned long long)(b >> 48),
      (unsigned long long)b & 0xffffffffffffull, e->arn_prefix, f->name, f->timeout, f->memory,
      f->concurrency, f->memory / 1024.0 < 0.05 ? 0.05 : f->memory / 1024.0,
      (unsigned long long)f->checksum, f->code_size, created, modified,
      f->load_error[0] ? "Failed" : "Active");
  if (!rc) rc = fc_json_str(out, f->description, strlen(f->description));
  if (!rc && f->load_error[0]) {
    rc = fc_buf_adds(out, ",\"stateReason\":");
    if (!rc) rc = fc_json_str(out, f->load_error, strlen(f->load_error));
  }
  if (!rc) rc = fc_buf_addc(out, '}');
  return rc;
}

/* Parses an integer query value in [lo, hi]; -1 when it is not one. */
static long long int_arg(const char *s, long long lo, long long hi, long long dflt) {
  if (!s || !*s) return dflt;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*end || v < lo || v > hi) return -1;
  return v;
}

static enum MHD_Result list_functions(fc_emu *e, struct MHD_Connection *c, request *r,
                                      const char *m, const char *u) {
  long long limit = int_arg(arg(c, "limit"), 1, 100, 20);
  if (limit < 0)
    return fail(e, c, r, m, u, 400, "InvalidArgument", "limit must be an integer from 1 to 100");
  const char *prefix = arg(c, "prefix"), *token = arg(c, "nextToken");
  fc_fn_info *fns;
  size_t n;
  int rc = fc_host_list(e->host, &fns, &n);
  if (rc == FC_EINVAL)
    return fail(e, c, r, m, u, 500, "InternalServerError", "the functions directory is not readable");
  if (rc) return INTERNAL(e, c, r, m, u);
  fc_buf b = FC_BUF_INIT(64u << 20);
  rc = fc_buf_adds(&b, "{\"functions\":[");
  long long k = 0;
  const char *next = NULL;
  for (size_t i = 0; i < n && !rc; i++) {
    if (prefix && strncmp(fns[i].name, prefix, strlen(prefix)) != 0) continue;
    if (token && *token && strcmp(fns[i].name, token) < 0) continue;
    if (k == limit) {
      next = fns[i].name;
      break;
    }
    if (k++) rc = fc_buf_addc(&b, ',');
    if (!rc) rc = function_json(e, &fns[i], &b);
  }
  if (!rc) rc = next ? fc_buf_printf(&b, "],\"nextToken\":\"%s\"}", next) : fc_buf_adds(&b, "]}");
  free(fns);
  if (rc) {
    fc_buf_free(&b);
    return INTERNAL(e, c, r, m, u);
  }
  return respond(e, c, r, m, u, 200, &b, "application/json", NULL, 0);
}

static enum MHD_Result not_found(fc_emu *e, struct MHD_Connection *c, request *r, const char *m,
                                 const char *u, const char *name) {
  return fail(e, c, r, m, u, 404, "FunctionNotFound", "function '%.64s' does not exist.", name);
}

static enum MHD_Result get_function(fc_emu *e, struct MHD_Connection *c, request *r,
                                    const char *m, const char *u, const char *name) {
  fc_fn_info f;
  int rc = fc_host_lookup(e->host, name, &f);
  if (rc == FC_HOST_NOTFOUND) return not_found(e, c, r, m, u, name);
  if (rc) return INTERNAL(e, c, r, m, u);
  fc_buf b = FC_BUF_INIT(1u << 20);
  if (function_json(e, &f, &b)) {
    fc_buf_free(&b);
    return INTERNAL(e, c, r, m, u);
  }
  return respond(e, c, r, m, u, 200, &b, "application/json", NULL, 0);
}

static enum MHD_Result alias_not_found(fc_emu *e, struct MHD_Connection *c, request *r,
                                       const char *m, const char *u, const char *name) {
  return fail(e, c, r, m, u, 404, "AliasNotFound", "alias '%.128s' of function '%s' does not exist.",
              arg(c, "qualifier"), name);
}

/* Checks the function and the qualifier: 0 when the request may go on,
** else -1 with the error already answered (*res). */
static int check_function(fc_emu *e, struct MHD_Connection *c, request *r, const char *m,
                          const char *u, const char *name, fc_fn_info *f, enum MHD_Result *res) {
  int rc = fc_host_lookup(e->host, name, f);
  if (rc == FC_HOST_NOTFOUND) {
    *res = not_found(e, c, r, m, u, name);
    return -1;
  }
  if (rc) {
    *res = INTERNAL(e, c, r, m, u);
    return -1;
  }
  if (!fc_fn_has_qualifier(f, arg(c, "qualifier"))) {
    *res = alias_not_found(e, c, r, m, u, name);
    return -1;
  }
  return 0;
}

static enum MHD_Result invoke_async(fc_emu *e, struct MHD_Connection *c, request *r,
                                    const char *m, const char *u, const char *name) {
  const char *id = header(c, "x-fc-async-task-id");
  if (id && *id && !fc_valid_task_id(id))
    return fail(e, c, r, m, u, 400, "InvalidArgument",
                "x-fc-async-task-id '%.140s' is invalid: it must match [A-Za-z_][A-Za-z0-9_-]{0,127}",
                id);
  char task_id[FC_TASK_ID_MAX + 1];
  fc_task_submit s = {.function_name = name, .qualifier = arg(c, "qualifier"),
                      .request_id = r->id, .task_id = id, .payload = r->body.data,
                      .payload_len = r->body.len};
  int rc = fc_tasks_submit(e->tasks, &s, task_id);
  if (rc == FC_TASK_EXISTS)
    return fail(e, c, r, m, u, 409, "AsyncTaskAlreadyExists",
                "async task '%s' already exists for function '%s'", id, name);
  if (rc == FC_TASK_FULL)
    return fail(e, c, r, m, u, 429, "ResourceExhausted",
                "too many async tasks are queued (at most %d are kept); retry later", FC_TASKS_MAX);
  if (rc) return INTERNAL(e, c, r, m, u);
  hdr h[] = {{"x-fc-async-task-id", task_id}};
  return respond(e, c, r, m, u, 202, NULL, NULL, h, 1);
}

static enum MHD_Result invoke(fc_emu *e, struct MHD_Connection *c, request *r, const char *m,
                              const char *u, const char *name) {
  fc_fn_info f;
  enum MHD_Result res;
  const char *type = header(c, "x-fc-invocation-type");
  if (type && strcasecmp(type, "Sync") != 0 && strcasecmp(type, "Async") != 0)
    return fail(e, c, r, m, u, 400, "InvalidArgument",
                "x-fc-invocation-type must be Sync or Async, not '%.32s'", type);
  if (is_async(c)) {
    if (check_function(e, c, r, m, u, name, &f, &res)) return res;
    return invoke_async(e, c, r, m, u, name);
  }
  /* sync: fc_host_invoke checks the function and qualifier itself */

  const char *logtype = header(c, "x-fc-log-type");
  fc_invocation inv;
  fc_invocation_init(&inv);
  inv.function_name = name;
  inv.qualifier = arg(c, "qualifier");
  inv.request_id = r->id;
  inv.payload = r->body.data;
  inv.payload_len = r->body.len;
  inv.want_log = logtype && strcasecmp(logtype, "Tail") == 0;
  int rc = fc_host_invoke(e->host, &inv);
  if (rc != FC_HOST_OK) {
    fc_invocation_free(&inv);
    if (rc == FC_HOST_NOTFOUND) return not_found(e, c, r, m, u, name);
    if (rc == FC_HOST_NOQUALIFIER) return alias_not_found(e, c, r, m, u, name);
    if (rc == FC_HOST_BUSY)
      return fail(e, c, r, m, u, 429, "ResourceExhausted",
                  "function '%s' is already running %d invocations, its concurrency limit", name,
                  inv.concurrency);
    if (rc == FC_HOST_NOWORKER)
      return fail(e, c, r, m, u, 429, "ResourceExhausted",
                  "every emulator worker is busy; retry later");
    return INTERNAL(e, c, r, m, u);
  }
  char dur[32], mem[32], sum[32];
  snprintf(dur, sizeof dur, "%.0f", inv.duration_ms);
  snprintf(mem, sizeof mem, "%.2f", inv.max_memory_mb);
  snprintf(sum, sizeof sum, "%llu", (unsigned long long)inv.checksum);
  fc_buf b64 = FC_BUF_INIT(2 * FC_LOG_TAIL + 16);
  if (inv.want_log && fc_base64_encode(&b64, inv.log.data ? inv.log.data : "", inv.log.len)) {
    fc_invocation_free(&inv);
    fc_buf_free(&b64);
    return INTERNAL(e, c, r, m, u);
  }
  hdr h[] = {
      {"x-fc-invocation-service-version", inv.qualifier && *inv.qualifier ? inv.qualifier : "LATEST"},
      {"x-fc-invocation-duration", dur},
      {"x-fc-max-memory-usage", mem},
      {"x-fc-instance-id", inv.instance_id},
      {"x-fc-code-checksum", sum},
      {"x-fc-error-type", inv.failed ? "UnhandledInvocationError" : NULL},
      {"x-fc-log-result", inv.want_log ? fc_buf_str(&b64) : NULL},
  };
  res = respond(e, c, r, m, u, 200, &inv.body, inv.content_type, h, sizeof h / sizeof h[0]);
  fc_buf_free(&b64);
  fc_invocation_free(&inv);
  return res;
}

static enum MHD_Result list_tasks(fc_emu *e, struct MHD_Connection *c, request *r, const char *m,
                                  const char *u, const char *name) {
  fc_fn_info f;
  enum MHD_Result res;
  if (check_function(e, c, r, m, u, name, &f, &res)) return res;
  fc_task_filter flt = {0};
  long long limit = int_arg(arg(c, "limit"), 1, 100, 20);
  if (limit < 0)
    return fail(e, c, r, m, u, 400, "InvalidArgument", "limit must be an integer from 1 to 100");
  flt.limit = (int)limit;
  const char *ip = arg(c, "includePayload"), *order = arg(c, "sortOrderByTime");
  flt.include_payload = ip && strcasecmp(ip, "true") == 0;
  if (order && *order && strcasecmp(order, "asc") != 0 && strcasecmp(order, "desc") != 0)
    return fail(e, c, r, m, u, 400, "InvalidArgument", "sortOrderByTime must be asc or desc");
  flt.descending = !order || !*order || strcasecmp(order, "desc") == 0;
  long long tok = int_arg(arg(c, "nextToken"), 1, (long long)1 << 62, 0);
  long long b = int_arg(arg(c, "startedTimeBegin"), 0, (long long)1 << 62, 0);
  long long en = int_arg(arg(c, "startedTimeEnd"), 0, (long long)1 << 62, 0);
  if (tok < 0) return fail(e, c, r, m, u, 400, "InvalidArgument", "nextToken is invalid");
  if (b < 0 || en < 0)
    return fail(e, c, r, m, u, 400, "InvalidArgument",
                "startedTimeBegin and startedTimeEnd are times in milliseconds since the epoch");
  flt.token = (unsigned long long)tok;
  flt.started_begin = b;
  flt.started_end = en;
  flt.prefix = arg(c, "prefix");
  flt.status = arg(c, "status");
  if (flt.status && !*flt.status) flt.status = NULL;
  flt.qualifier = arg(c, "qualifier");
  fc_buf out = FC_BUF_INIT(256u << 20);
  if (fc_tasks_list(e->tasks, name, &flt, &out)) {
    fc_buf_free(&out);
    return INTERNAL(e, c, r, m, u);
  }
  return respond(e, c, r, m, u, 200, &out, "application/json", NULL, 0);
}

static enum MHD_Result task_not_found(fc_emu *e, struct MHD_Connection *c, request *r,
                                      const char *m, const char *u, const char *name,
                                      const char *id) {
  return fail(e, c, r, m, u, 404, "AsyncTaskNotFound",
              "async task '%.128s' of function '%s' does not exist.", id, name);
}

static enum MHD_Result get_task(fc_emu *e, struct MHD_Connection *c, request *r, const char *m,
                                const char *u, const char *name, const char *id) {
  fc_fn_info f;
  enum MHD_Result res;
  if (check_function(e, c, r, m, u, name, &f, &res)) return res;
  fc_buf out = FC_BUF_INIT(8u << 20);
  int rc = fc_tasks_get(e->tasks, name, id, 1, &out);
  if (rc == FC_TASK_NOTFOUND) {
    fc_buf_free(&out);
    return task_not_found(e, c, r, m, u, name, id);
  }
  if (rc) {
    fc_buf_free(&out);
    return INTERNAL(e, c, r, m, u);
  }
  return respond(e, c, r, m, u, 200, &out, "application/json", NULL, 0);
}

static enum MHD_Result stop_task(fc_emu *e, struct MHD_Connection *c, request *r, const char *m,
                                 const char *u, const char *name, const char *id) {
  fc_fn_info f;
  enum MHD_Result res;
  if (check_function(e, c, r, m, u, name, &f, &res)) return res;
  const char *status = "";
  int rc = fc_tasks_stop(e->tasks, name, id, &status);
  if (rc == FC_TASK_NOTFOUND)
    return task_not_found(e, c, r, m, u, name, id);
  if (rc == FC_TASK_FINISHED)
    return fail(e, c, r, m, u, 400, "InvalidArgument",
                "async task '%.128s' has already finished (status %s)", id, status);
  return respond(e, c, r, m, u, 200, NULL, NULL, NULL, 0);
}

/* Routes a verified request to its operation. */
static enum MHD_Result dispatch(fc_emu *e, struct MHD_Connection *c, request *r,
                                const char *m, const char *u) {
  route rt;
  int api = split_path(u, &rt) == 0 && rt.n >= 2 && strcmp(rt.seg[0], "2023-03-30") == 0 &&
            strcmp(rt.seg[1], "functions") == 0;
  if (api) {
    int get = strcmp(m, "GET") == 0;
    const char *name = rt.n >= 3 ? rt.seg[2] : NULL;
    if (name && !fc_valid_function_name(name)) return not_found(e, c, r, m, u, name);
    if (rt.n == 2 && get) return list_functions(e, c, r, m, u);
    if (rt.n == 3 && get) return get_function(e, c, r, m, u, name);
    if (rt.n == 4 && strcmp(rt.seg[3], "invocations") == 0 && strcmp(m, "POST") == 0)
      return invoke(e, c, r, m, u, name);
    if (rt.n >= 4 && strcmp(rt.seg[3], "async-tasks") == 0) {
      if (rt.n == 4 && get) return list_tasks(e, c, r, m, u, name);
      if (rt.n == 5 && get) return get_task(e, c, r, m, u, name, rt.seg[4]);
      if (rt.n == 6 && strcmp(rt.seg[5], "stop") == 0 && strcmp(m, "PUT") == 0)
        return stop_task(e, c, r, m, u, name, rt.seg[4]);
    }
  }
  return fail(e, c, r, m, u, 400, "PathNotSupported", "'%.16s' against '%.256s' is not supported",
              m, u);
}

/*
** Verifies the headers and query as FC does, as soon as they are in: an
** unsigned or forged request is refused before its body is read. 0 when it
** may go on (the body is checked against the signed hash at the end), else
** -1 with the refusal queued in *res.
*/
static int verify_headers(fc_emu *e, struct MHD_Connection *c, request *r, const char *m,
                          const char *u, enum MHD_Result *res) {
  fc_kv hv[MAX_HEADERS], qv[MAX_QUERY];
  kv_list hl = {hv, 0, MAX_HEADERS, 0}, ql = {qv, 0, MAX_QUERY, 0};
  MHD_get_connection_values(c, MHD_HEADER_KIND, collect, &hl);
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &ql);
  if (hl.overflow || ql.overflow) {
    *res = fail(e, c, r, m, u, 400, "InvalidArgument",
                "too many headers or query parameters (at most %d and %d)", MAX_HEADERS,
                MAX_QUERY);
    return -1;
  }
  fc_verify_request rq = {m, u, qv, ql.n, hv, hl.n, "", 0};
  fc_verify_error err;
  if (fc_verify_headers(&e->keys, e->nonces, &rq, time(NULL), &err) != 0) {
    *res = fail(e, c, r, m, u, err.status, err.code, "%s", err.message);
    return -1;
  }
  const char *hash = header(c, "x-acs-content-sha256");
  snprintf(r->hash, sizeof r->hash, "%s", hash ? hash : "");
  return 0;
}

/*
** libmicrohttpd's access handler: called once with the headers, then with
** each piece of the body, then once more with none. The body is bounded by
** the operation's limit; Content-Length over it is refused before reading.
*/
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **ctx) {
  (void)version;
  fc_emu *e = cls;
  request *r = *ctx;
  if (!r) {
    r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    *ctx = r;
    atomic_fetch_add(&e->requests, 1);
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    new_request_id(r->id, sizeof r->id);
    if ((unsigned)atomic_load(&e->connections) > e->max_connections) {
      /* as FC answers when it is overloaded; the client may retry */
      r->too_big = 1; /* the body, if any, is dropped */
      static const char msg[] = "the emulator is serving its maximum number of connections; retry later";
      fc_buf b = FC_BUF_INIT(1024);
      hdr close[] = {{"connection", "close"}};
      if (fc_buf_printf(&b, "{\"Code\":\"ResourceThrottled\",\"Message\":\"%s (--max-connections %u)\","
                            "\"RequestId\":\"%s\"}", msg, e->max_connections, r->id)) {
        fc_buf_free(&b);
        return MHD_NO;
      }
      return respond(e, c, r, method, url, 503, &b, "application/json", close, 1);
    }
    size_t limit = OTHER_BODY_MAX;
    if (is_invocation(method, url)) limit = is_async(c) ? FC_ASYNC_PAYLOAD_MAX : FC_SYNC_PAYLOAD_MAX;
    fc_buf_init(&r->body, limit);
    const char *cl = header(c, "content-length");
    if (cl && strtoull(cl, NULL, 10) > limit) {
      r->too_big = 1;
      return fail(e, c, r, method, url, 400, "EntityTooLarge",
                  "payload size exceeds maximum allowed size (%zu bytes)", limit);
    }
    enum MHD_Result res;
    if (verify_headers(e, c, r, method, url, &res) != 0) return res;
    return MHD_YES;
  }
  if (*upload_size) {
    if (r->answered) {
      *upload_size = 0;
      return MHD_YES;
    }
    if (!r->too_big && !r->nomem) {
      int rc = fc_buf_add(&r->body, upload, *upload_size);
      if (rc == FC_ETOOBIG) r->too_big = 1;
      else if (rc) r->nomem = 1;
      if (rc) fc_buf_free(&r->body);
    } else {
      /* Chunked bodies have no length up front: drop the rest, but not forever. */
      r->discarded += *upload_size;
      if (r->discarded > r->body.max) return MHD_NO;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (r->answered) return MHD_YES;
  if (r->too_big)
    return fail(e, c, r, method, url, 400, "EntityTooLarge",
                "payload size exceeds maximum allowed size (%zu bytes)", r->body.max);
  if (r->nomem) return INTERNAL(e, c, r, method, url);
  fc_verify_error err;
  if (fc_verify_body(r->hash, r->body.data ? r->body.data : "", r->body.len, &err) != 0)
    return fail(e, c, r, method, url, err.status, err.code, "%s", err.message);
  return dispatch(e, c, r, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
                         enum MHD_RequestTerminationCode why) {
  fc_emu *e = cls;
  (void)c;
  (void)why;
  request *r = *ctx;
  if (!r) return;
  atomic_fetch_sub(&e->requests, 1);
  fc_buf_free(&r->body);
  free(r);
  *ctx = NULL;
}

/* Counts open connections, for the limit answered in on_request. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode what) {
  fc_emu *e = cls;
  (void)c;
  (void)socket_ctx;
  atomic_fetch_add(&e->connections, what == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  fc_emu *e = cls;
  if (!e->verbose) return;
  fputs("fcrun serve: ", stderr);
  vfprintf(stderr, fmt, ap);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

/*
** Stops accepting, lets running calls finish for STOP_GRACE_MS, then stops
** the handlers still running (they answer "stopped", or are abandoned when
** stuck in C) and the server.
*/
static void emu_free(fc_emu *e) {
  if (!e) return;
  if (e->daemon) {
    MHD_socket s = MHD_quiesce_daemon(e->daemon);
    if (s != MHD_INVALID_SOCKET) close(s);
    struct timespec t0, t, d = {0, 10 * 1000000L};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
      if (atomic_load(&e->requests) == 0) break;
      nanosleep(&d, NULL);
      clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < STOP_GRACE_MS);
  }
  if (e->host) fc_host_shutdown(e->host);
  if (e->daemon) MHD_stop_daemon(e->daemon);
  fc_tasks_free(e->tasks);
  fc_host_free(e->host);
  fc_nonce_store_free(e->nonces);
  free(e->key_id);
  fc_free_secret(e->key_secret);
  fc_free_secret(e->token);
  free(e);
}

int fc_emu_start(fc_emu **out, const fc_emu_config *cfg, char *err, size_t errlen) {
  *out = NULL;
  if (!cfg->access_key_id || !*cfg->access_key_id || !cfg->access_key_secret ||
      !*cfg->access_key_secret) {
    snprintf(err, errlen, "the emulator needs an AccessKey pair: pass --access-key-id and "
                          "--access-key-secret");
    return -1;
  }
  const char *host = cfg->host && *cfg->host ? cfg->host : "127.0.0.1";
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  if (getaddrinfo(host, "0", &hints, &ai) != 0 || !ai) {
    snprintf(err, errlen, "cannot bind to '%s': not an address; use e.g. --host 127.0.0.1 or ::1",
             host);
    return -1;
  }
  struct sockaddr_storage sa;
  memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
  int v6 = ai->ai_family == AF_INET6;
  freeaddrinfo(ai);
  if (v6) ((struct sockaddr_in6 *)&sa)->sin6_port = htons(cfg->port);
  else ((struct sockaddr_in *)&sa)->sin_port = htons(cfg->port);

  fc_emu *e = calloc(1, sizeof *e);
  if (!e) goto nomem;
  e->verbose = cfg->verbose;
  e->max_connections = cfg->max_connections ? cfg->max_connections : DEFAULT_CONNECTIONS;
  atomic_init(&e->connections, 0);
  atomic_init(&e->requests, 0);
  e->key_id = strdup(cfg->access_key_id);
  e->key_secret = strdup(cfg->access_key_secret);
  e->token = cfg->security_token && *cfg->security_token ? strdup(cfg->security_token) : NULL;
  if (!e->key_id || !e->key_secret || (cfg->security_token && *cfg->security_token && !e->token))
    goto nomem;
  e->keys = (fc_verify_keys){e->key_id, e->key_secret, e->token};
  const char *account = getenv("ALIBABA_CLOUD_ACCOUNT_ID");
  if (!account || !*account) account = getenv("FC_ACCOUNT_ID");
  if (!account || !*account || strlen(account) > 32) account = "1234567890123456";
  snprintf(e->arn_prefix, sizeof e->arn_prefix, "acs:fc:local:%s:functions/", account);

  fc_host_options ho = {cfg->functions_dir, e->key_id, e->key_secret, e->token, 0};
  if (fc_host_new(&e->host, &ho, err, errlen) != 0) {
    emu_free(e);
    return -1;
  }
  if (fc_nonce_store_new(&e->nonces, NONCE_CAPACITY) != FC_OK) goto nomem;
  if (fc_tasks_new(&e->tasks, e->host, e->arn_prefix, TASK_RUNNERS) != FC_OK) goto nomem;

  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                   MHD_USE_ERROR_LOG | MHD_USE_ITC | (v6 ? MHD_USE_IPv6 : 0);
  /* Past max_connections a connection is still taken and answered 503 (so a
  ** client never sees a dropped connection), up to twice the limit. */
  unsigned hard_limit = e->max_connections * 2 + 16;
  e->daemon = MHD_start_daemon(
      flags, cfg->port, NULL, NULL, on_request, e, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, e,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, e,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64u << 10), MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)90, MHD_OPTION_CONNECTION_LIMIT, hard_limit, MHD_OPTION_NOTIFY_CONNECTION, on_connection, e,
      MHD_OPTION_END);
  if (!e->daemon) {
    snprintf(err, errlen, "cannot listen on %s port %u (in use, or not an address of this "
             "machine?); choose another with --host/--port, or --port 0 for any free port",
             host, (unsigned)cfg->port);
    emu_free(e);
    return -1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(e->daemon, MHD_DAEMON_INFO_BIND_PORT);
  e->port = info ? info->port : cfg->port;
  char endpoint[128];
  snprintf(endpoint, sizeof endpoint, v6 ? "http://[%s]:%u" : "http://%s:%u", host,
           (unsigned)e->port);
  if (fc_host_set_endpoint(e->host, endpoint) != FC_OK) goto nomem;
  *out = e;
  return 0;
nomem:
  emu_free(e);
  snprintf(err, errlen, "out of memory");
  return -1;
}

unsigned short fc_emu_port(const fc_emu *e) { return e->port; }

void fc_emu_stop(fc_emu *e) { emu_free(e); }
