#include "http.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Buffers a freed transfer keeps for its next request; larger ones go. */
#define KEEP_BYTES (16u << 10)

struct fc_http {
  CURLM *multi;
  CURLSH *share;     /* TLS sessions and DNS, shared by every transfer */
  fc_xfer *live;     /* doubly linked: transfers given out and not yet freed */
  fc_xfer *idle;     /* singly linked: freed transfers, for the next start */
  int nidle;
  char *noproxy;     /* no_proxy from the environment, plus loopback */
  const char *curl_ca; /* curl's built-in CA bundle (a constant), or NULL */
};

/*
** A transfer owns its easy handle for life: the options that never change
** (callbacks, their data, the error buffer, the share, proxies, TLS
** checks) are set once, when it is made; those of a request, by setup().
** Freed, it goes back to its pool's idle list unless the pool is gone or
** full; then its handle is cleaned up with it.
*/
struct fc_xfer {
  fc_http *http; /* its pool; NULL once the pool is freed (it is then its owner's alone) */
  CURL *easy;
  char *ca;      /* the CA file CURLOPT_CAINFO holds, NULL: curl's default */
  char *mem;     /* the header list (nodes and text) and the body, in one block */
  size_t mem_cap;
  struct curl_slist *headers; /* in mem */
  char *body;                 /* in mem */
  void *user;
  int running;      /* in the multi handle */
  int broken;       /* an option failed to set: the handle is not reused */
  int done;
  int attempts;     /* times curl was about to write the request */
  int refused;      /* a re-send was refused */
  int headers_done; /* the blank line that ends the final header block came */
  fc_xfer *prev, *next; /* in the live list, or next in the idle list */
  fc_http_response resp;
  char errbuf[CURL_ERROR_SIZE];
};

const char *fc_http_error_name(int err) {
  static const char *const names[] = {"ok",  "connect", "dns",    "timeout",  "tls",
                                      "toobig", "nomem", "transport", "closed"};
  return err >= 0 && err <= FC_HTTP_CLOSED ? names[err] : "transport";
}

/*
** Proxies come from the usual environment variables (curl reads them), but
** a loopback address is never sent through one: the local emulator must be
** reachable whatever http_proxy says. Setting CURLOPT_NOPROXY replaces the
** environment's no_proxy, so that list is carried over.
*/
static char *noproxy_list(void) {
  static const char loopback[] = "127.0.0.1,localhost,::1";
  const char *env = getenv("no_proxy");
  if (!env || !*env) env = getenv("NO_PROXY");
  if (!env || !*env) return strdup(loopback);
  if (strcmp(env, "*") == 0) return strdup(env);
  size_t n = strlen(env) + sizeof loopback + 1;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s,%s", env, loopback);
  return s;
}

fc_http *fc_http_new(void) {
  fc_http *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->noproxy = noproxy_list();
  h->multi = h->noproxy ? curl_multi_init() : NULL;
  h->share = h->multi ? curl_share_init() : NULL;
  if (!h->share || curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) ||
      curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS)) {
    curl_share_cleanup(h->share);
    curl_multi_cleanup(h->multi);
    free(h->noproxy);
    free(h);
    return NULL;
  }
  return h;
}

static void unlink_xfer(fc_xfer *x) {
  if (x->prev) x->prev->next = x->next;
  else if (x->http && x->http->live == x) x->http->live = x->next;
  if (x->next) x->next->prev = x->prev;
  x->prev = x->next = NULL;
}

/* Takes a running x out of the multi handle; it keeps its response. */
static void stop(fc_xfer *x) {
  if (!x->running) return;
  curl_multi_remove_handle(x->http->multi, x->easy);
  x->running = 0;
}

static void destroy(fc_xfer *x) {
  curl_easy_cleanup(x->easy); /* leaves the share, if still in it */
  free(x->ca);
  free(x->mem);
  fc_buf_free(&x->resp.headers);
  fc_buf_free(&x->resp.body);
  free(x);
}

/*
** Running transfers are aborted; every transfer still given out leaves the
** share (which refuses to go while a handle uses it) and becomes its
** owner's alone, to be freed whenever the owner frees it.
*/
void fc_http_free(fc_http *h) {
  if (!h) return;
  for (fc_xfer *x = h->live, *next; x; x = next) {
    next = x->next;
    stop(x);
    curl_easy_setopt(x->easy, CURLOPT_SHARE, (CURLSH *)NULL);
    x->prev = x->next = NULL;
    x->http = NULL;
  }
  for (fc_xfer *x = h->idle, *next; x; x = next) {
    next = x->next;
    destroy(x);
  }
  curl_multi_cleanup(h->multi);
  curl_share_cleanup(h->share);
  free(h->noproxy);
  free(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  fc_xfer *x = ud;
  int rc = fc_buf_add(&x->resp.body, p, size * n);
  if (rc) {
    x->resp.error = rc == FC_ENOMEM ? FC_HTTP_NOMEM : FC_HTTP_TOOBIG;
    return 0; /* aborts the transfer */
  }
  return size * n;
}

/*
** Keeps the header lines of the final response only: a new status line
** (after 100 Continue, or an interim response) starts the list again.
** Names are lower-cased so that lookups need no case folding.
*/
static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  fc_xfer *x = ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    fc_buf_reset(&x->resp.headers);
    x->headers_done = 0;
    return len;
  }
  if (len <= 2) { /* the blank line */
    x->headers_done = 1;
    return len;
  }
  size_t at = x->resp.headers.len;
  int rc = fc_buf_add(&x->resp.headers, p, len);
  if (rc) {
    x->resp.error = rc == FC_ENOMEM ? FC_HTTP_NOMEM : FC_HTTP_TOOBIG;
    return 0;
  }
  for (char *c = x->resp.headers.data + at; *c && *c != ':'; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
  return len;
}

/* What a curl error means for us; sent: a request byte was written. */
static int classify(CURLcode rc, int sent) {
  switch (rc) {
    case CURLE_OK: return FC_HTTP_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return FC_HTTP_DNS;
    case CURLE_OPERATION_TIMEDOUT: return FC_HTTP_TIMEOUT;
    case CURLE_COULDNT_CONNECT: return FC_HTTP_CONNECT;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE: return sent ? FC_HTTP_CLOSED : FC_HTTP_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE: return FC_HTTP_TLS;
    case CURLE_OUT_OF_MEMORY: return FC_HTTP_NOMEM;
    case CURLE_FILESIZE_EXCEEDED: return FC_HTTP_TOOBIG;
    default: return FC_HTTP_OTHER;
  }
}

/*
** Called by curl each time it is about to write the request: once, unless
** a reused connection died and curl wants to send it again on another. That
** is allowed only when no byte of the request was written (request_size
** counts every byte handed to the socket, over all attempts).
*/
static int on_prereq(void *ud, char *ip, char *local_ip, int port, int local_port) {
  (void)ip, (void)local_ip, (void)port, (void)local_port;
  fc_xfer *x = ud;
  long written = 0;
  if (x->attempts++ == 0) return CURL_PREREQFUNC_OK;
  if (curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &written) == CURLE_OK && written == 0)
    return CURL_PREREQFUNC_OK;
  x->refused = 1;
  return CURL_PREREQFUNC_ABORT;
}

/*
** Back to its pool, with its handle and the buffers worth keeping, unless
** the pool is gone or full, or the handle is in doubt.
*/
void fc_xfer_free(fc_xfer *x) {
  if (!x) return;
  fc_http *h = x->http;
  stop(x);
  unlink_xfer(x);
  if (!h || x->broken || h->nidle >= FC_HTTP_IDLE_HANDLES) {
    destroy(x);
    return;
  }
  if (x->mem_cap > KEEP_BYTES) { /* curl keeps pointers into it, unread while idle */
    free(x->mem);
    x->mem = NULL;
    x->mem_cap = 0;
  }
  if (x->resp.headers.cap > KEEP_BYTES) fc_buf_free(&x->resp.headers);
  if (x->resp.body.cap > KEEP_BYTES) fc_buf_free(&x->resp.body);
  x->user = NULL;
  x->next = h->idle;
  h->idle = x;
  h->nidle++;
}

/*
** A new transfer with its own easy handle, and the options that hold for
** every request it will ever make. Connections are reused through the
** multi handle's pool; an idle one is retired after FC_HTTP_IDLE_SECONDS
** so that we never write to a socket FC is about to close. TLS
** verification stays on; proxies come from the usual environment
** variables (curl's default).
*/
static fc_xfer *new_xfer(fc_http *h, int *err) {
  fc_xfer *x = calloc(1, sizeof *x);
  *err = FC_ENOMEM;
  if (!x) return NULL;
  fc_buf_init(&x->resp.headers, FC_HTTP_MAX_HEADERS);
  fc_buf_init(&x->resp.body, FC_HTTP_MAX_BODY);
  CURL *e = x->easy = curl_easy_init();
  if (!e) {
    free(x);
    return NULL;
  }
  CURLcode rc = CURLE_OK;
#define SET(opt, val) if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_PRIVATE, (void *)x);
  SET(CURLOPT_ERRORBUFFER, x->errbuf);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, (void *)x);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, (void *)x);
  SET(CURLOPT_PREREQFUNCTION, on_prereq);
  SET(CURLOPT_PREREQDATA, (void *)x);
  SET(CURLOPT_SHARE, h->share);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_TCP_KEEPIDLE, 30L);
  SET(CURLOPT_TCP_KEEPINTVL, 15L);
  SET(CURLOPT_MAXAGE_CONN, (long)FC_HTTP_IDLE_SECONDS);
  SET(CURLOPT_NOPROXY, h->noproxy);
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
#undef SET
  /* what a fresh handle holds in CURLOPT_CAINFO, to give a reused one back */
  if (rc == CURLE_OK) rc = curl_easy_getinfo(e, CURLINFO_CAINFO, (char **)&h->curl_ca);
  if (rc != CURLE_OK) {
    *err = rc == CURLE_OUT_OF_MEMORY ? FC_ENOMEM : FC_EINVAL;
    destroy(x);
    return NULL;
  }
  return x;
}

/* One line of the list: its node, its text at t; returns the next t. */
static char *put_line(struct curl_slist *node, char *t, const char *line) {
  node->data = t;
  node->next = node + 1; /* the last one's is set to NULL after */
  return stpcpy(t, line) + 1;
}

/*
** The request's header lines as a curl_slist, nodes and text in x->mem with
** the body after them: one allocation at most, none when the last
** request's block is large enough (curl only reads CURLOPT_HTTPHEADER's
** list and never frees it). "Expect:" comes first: no "Expect:
** 100-continue", one round trip less on large bodies; an empty
** "Content-Type:" last when none was given, or curl would add a form
** content type to a body: we send what we signed.
*/
static int build(fc_xfer *x, const fc_http_request *req) {
  static const char expect[] = "Expect:", no_type[] = "Content-Type:";
  size_t n = req->nheaders + 2, text = sizeof expect + sizeof no_type;
  if (req->nheaders > (SIZE_MAX - text) / sizeof(struct curl_slist) - 2) return FC_ENOMEM;
  size_t need = n * sizeof(struct curl_slist);
  int has_type = 0;
  for (size_t i = 0; i < req->nheaders; i++) {
    const char *l = req->headers[i];
    size_t len = strlen(l) + 1;
    if (len > SIZE_MAX - need - text) return FC_ENOMEM;
    text += len;
    has_type |= (*l | 0x20) == 'c' && strncasecmp(l, "content-type:", 13) == 0;
  }
  need += text;
  if (req->body && req->body_len > SIZE_MAX - need) return FC_ENOMEM;
  if (req->body) need += req->body_len;
  if (need > x->mem_cap) {
    size_t cap = need < 2048 ? 2048 : need;
    char *p = malloc(cap);
    if (!p) return FC_ENOMEM;
    free(x->mem);
    x->mem = p;
    x->mem_cap = cap;
  }
  struct curl_slist *node = (struct curl_slist *)(void *)x->mem;
  char *t = x->mem + n * sizeof *node;
  size_t k = 0;
  t = put_line(&node[k++], t, expect);
  for (size_t i = 0; i < req->nheaders; i++) t = put_line(&node[k++], t, req->headers[i]);
  if (!has_type) t = put_line(&node[k++], t, no_type);
  node[k - 1].next = NULL;
  x->headers = node;
  x->body = NULL;
  if (req->body) {
    x->body = t;
    if (req->body_len) memcpy(t, req->body, req->body_len);
  }
  return FC_OK;
}

/*
** The options of one request, every one of them set (or set back) each
** time: a reused handle still holds the last request's. The method: NOBODY
** for HEAD, then POSTFIELDS for a body (curl sends Content-Length even when
** it is 0), else HTTPGET, which also ends a last request's POST or HEAD;
** POSTFIELDS NULL first drops a last body, and CUSTOMREQUEST names the
** method on the wire. CURLOPT_CAINFO is set only when it changes (a copy
** says what it holds), back to curl's default when no CA file is given.
*/
static int setup(fc_xfer *x, const fc_http_request *req) {
  CURL *e = x->easy;
  CURLcode rc = CURLE_OK;
  int head = strcmp(req->method, "HEAD") == 0;
#define SET(opt, val) if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
  SET(CURLOPT_URL, req->url);
  SET(CURLOPT_TIMEOUT_MS, req->timeout_ms);
  SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
  SET(CURLOPT_HTTPHEADER, x->headers);
  SET(CURLOPT_CUSTOMREQUEST, req->method);
  if (!req->body) {
    SET(CURLOPT_POSTFIELDS, (char *)NULL);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
  }
  SET(CURLOPT_NOBODY, (long)head);
  if (req->body) {
    SET(CURLOPT_POSTFIELDS, x->body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
  } else if (!head) {
    SET(CURLOPT_HTTPGET, 1L);
  }
  const char *ca = req->ca_file;
  if (rc == CURLE_OK && (ca ? !x->ca || strcmp(x->ca, ca) != 0 : x->ca != NULL)) {
    char *copy = ca ? strdup(ca) : NULL;
    if (ca && !copy) return FC_ENOMEM; /* the handle still holds x->ca */
    SET(CURLOPT_CAINFO, ca ? ca : x->http->curl_ca);
    free(x->ca);
    x->ca = copy;
  }
#undef SET
  if (rc != CURLE_OK) x->broken = 1; /* some options are this request's, some not */
  return rc == CURLE_OK ? FC_OK : (rc == CURLE_OUT_OF_MEMORY ? FC_ENOMEM : FC_EINVAL);
}

/* A transfer for the next request: an idle one, or a new one. */
static fc_xfer *take(fc_http *h, int *err) {
  fc_xfer *x = h->idle;
  if (!x) return new_xfer(h, err);
  h->idle = x->next;
  h->nidle--;
  x->next = NULL;
  return x;
}

fc_xfer *fc_http_start(fc_http *h, const fc_http_request *req, void *user, int *err) {
  fc_xfer *x = take(h, err);
  if (!x) return NULL;
  x->http = h;
  x->next = h->live;
  if (h->live) h->live->prev = x;
  h->live = x;
  x->user = user;
  x->done = x->attempts = x->refused = x->headers_done = 0;
  x->errbuf[0] = '\0';
  fc_buf headers = x->resp.headers, body = x->resp.body;
  memset(&x->resp, 0, sizeof x->resp);
  x->resp.headers = headers;
  x->resp.body = body;
  fc_buf_reset(&x->resp.headers);
  fc_buf_reset(&x->resp.body);
  x->resp.body.max = req->max_body ? req->max_body : FC_HTTP_MAX_BODY;
  if ((*err = build(x, req)) || (*err = setup(x, req))) goto fail;
  if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
    *err = FC_EINVAL;
    x->broken = 1;
    goto fail;
  }
  x->running = 1;
  *err = FC_OK;
  return x;
fail:
  fc_xfer_free(x);
  return NULL;
}

/* curl's timing breakdown and byte counts of a transfer that ended. */
static void record_timing(CURL *e, fc_http_timing *t) {
  curl_off_t v;
  struct timespec now;
#define US(info, field) if (curl_easy_getinfo(e, info, &v) == CURLE_OK) t->field = (double)v / 1e6
  US(CURLINFO_NAMELOOKUP_TIME_T, dns);
  US(CURLINFO_CONNECT_TIME_T, connect);
  US(CURLINFO_APPCONNECT_TIME_T, tls);
  US(CURLINFO_STARTTRANSFER_TIME_T, first_byte);
  US(CURLINFO_TOTAL_TIME_T, total);
#undef US
  long n = 0;
  if (curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &n) == CURLE_OK) t->bytes_sent = (double)n;
  if (curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &v) == CURLE_OK) t->bytes_sent += (double)v;
  if (curl_easy_getinfo(e, CURLINFO_HEADER_SIZE, &n) == CURLE_OK) t->bytes_received = (double)n;
  if (curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &v) == CURLE_OK) t->bytes_received += (double)v;
  clock_gettime(CLOCK_REALTIME, &now);
  t->ended_at = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Records how x ended and takes it out of the multi handle. */
static void finish(fc_xfer *x, CURLcode rc) {
  fc_http_response *r = &x->resp;
  long status = 0, written = 0;
  double secs = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &secs);
  curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &written);
  r->status = status;
  r->seconds = secs;
  record_timing(x->easy, &r->timing);
  r->sent = written > 0 || x->refused;
  const char *msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
  if (rc == CURLE_OK && !x->headers_done) {
    rc = CURLE_RECV_ERROR; /* curl takes a response cut in its headers for a whole one */
    msg = "the connection closed inside the response headers";
  }
  if (rc != CURLE_OK) {
    if (r->error == FC_HTTP_OK) r->error = classify(rc, r->sent); /* else our callback's */
    if (x->refused) {
      r->error = FC_HTTP_CLOSED;
      msg = "the connection closed after the request was written, before any answer; "
            "not sent again, as the server may have acted on it";
    }
    /* curl reports a header line past its bound (100 KB) as out of memory */
    if (rc == CURLE_OUT_OF_MEMORY && !x->headers_done) r->error = FC_HTTP_TOOBIG;
    if (r->error == FC_HTTP_TOOBIG) msg = "response larger than its limit";
    snprintf(r->message, sizeof r->message, "%s", msg);
    size_t n = strlen(r->message);
    while (n && r->message[n - 1] == '\n') r->message[--n] = '\0';
  }
  x->done = 1;
  stop(x);
}

static int drain_done(fc_http *h, void (*done)(fc_xfer *, void *), void *arg) {
  CURLMsg *m;
  int left, n = 0;
  while ((m = curl_multi_info_read(h->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    fc_xfer *x = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    finish(x, m->data.result);
    if (done) done(x, arg);
    n++;
  }
  return n;
}

int fc_http_poll(fc_http *h, int timeout_ms, void (*done)(fc_xfer *, void *), void *arg) {
  int running = 0;
  if (curl_multi_perform(h->multi, &running) != CURLM_OK) return FC_EINVAL;
  /* a transfer that ended in that perform: report it now, never sleep on it */
  if (drain_done(h, done, arg) == 0 && timeout_ms > 0) {
    if (curl_multi_poll(h->multi, NULL, 0, timeout_ms, NULL) != CURLM_OK) return FC_EINVAL;
    if (curl_multi_perform(h->multi, &running) != CURLM_OK) return FC_EINVAL;
    drain_done(h, done, arg);
  }
  return running;
}

int fc_xfer_done(const fc_xfer *x) { return x->done; }

void *fc_xfer_user(const fc_xfer *x) { return x->user; }

fc_http_response *fc_xfer_response(fc_xfer *x) { return &x->resp; }
