/*
** The transfer pool of http.c (issue 9), from the inside: it includes
** http.c to see a transfer's handle, header block and CA copy. No network:
** transfers go to a closed loopback port, or are never polled. What a
** request puts on the wire is pinned end to end by tests/e2e/http_reuse.sh.
** Linked with -Wl,--wrap=malloc,... to count the core's own allocations
** (not curl's): a request on a reused transfer makes none.
*/
#include "http.c"

#include "test.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

static long allocs; /* the core's allocations so far */
void *__wrap_malloc(size_t n) { allocs++; return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { allocs++; return __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { allocs++; return __real_realloc(p, n); }

#define CLOSED "http://127.0.0.1:9/" /* the discard port: nothing listens */

static const char *const HDR[] = {"Host: 127.0.0.1:9", "x-acs-action: InvokeFunction",
                                  "x-acs-date: 2024-01-01T00:00:00Z"};

static fc_http_request req(const char *method, const char *body) {
  fc_http_request r = {method, CLOSED, HDR, 3, body, body ? strlen(body) : 0, 5000, 5000, 0, NULL};
  return r;
}

static int in_block(const fc_xfer *x, const void *p) {
  return (const char *)p >= x->mem && (const char *)p < x->mem + x->mem_cap;
}

/* The lines of x's header list, joined with '|'. */
static const char *lines(const fc_xfer *x) {
  static char s[1024];
  s[0] = '\0';
  for (const struct curl_slist *l = x->headers; l; l = l->next) {
    if (s[0]) strcat(s, "|");
    strcat(s, l->data);
  }
  return s;
}

static void header_list_in_one_block(void) {
  fc_http *h = fc_http_new();
  int err;
  fc_http_request r = req("POST", "the body");
  fc_xfer *x = fc_http_start(h, &r, NULL, &err);
  CHECK(x && err == FC_OK);
  CHECK_STR(lines(x), "Expect:|Host: 127.0.0.1:9|x-acs-action: InvokeFunction|"
                      "x-acs-date: 2024-01-01T00:00:00Z|Content-Type:");
  for (const struct curl_slist *l = x->headers; l; l = l->next) CHECK(in_block(x, l) && in_block(x, l->data));
  CHECK(in_block(x, x->body) && memcmp(x->body, "the body", 8) == 0);
  fc_xfer_free(x);
  /* a content type given: no empty one */
  const char *typed[] = {"content-type: text/plain", "x-a: 1"};
  r.headers = typed;
  r.nheaders = 2;
  x = fc_http_start(h, &r, NULL, &err);
  CHECK_STR(lines(x), "Expect:|content-type: text/plain|x-a: 1");
  fc_xfer_free(x);
  /* no header at all, no body */
  r = req("GET", NULL);
  r.nheaders = 0;
  x = fc_http_start(h, &r, NULL, &err);
  CHECK_STR(lines(x), "Expect:|Content-Type:");
  CHECK(x->body == NULL);
  fc_xfer_free(x);
  fc_http_free(h);
}

static void a_freed_transfer_is_the_next_one(void) {
  fc_http *h = fc_http_new();
  int err;
  fc_http_request r = req("POST", "one");
  fc_xfer *x = fc_http_start(h, &r, (void *)1, &err);
  CURL *easy = x->easy;
  x->resp.error = FC_HTTP_TIMEOUT; /* as if it had ended so */
  snprintf(x->resp.message, sizeof x->resp.message, "old");
  fc_xfer_free(x);
  CHECK(h->nidle == 1 && h->idle == x && h->live == NULL);
  r = req("HEAD", NULL);
  fc_xfer *y = fc_http_start(h, &r, (void *)2, &err);
  CHECK(y == x && y->easy == easy && h->nidle == 0 && h->live == y);
  CHECK(y->user == (void *)2 && y->body == NULL && !y->done && y->running);
  CHECK(y->resp.error == FC_HTTP_OK && y->resp.message[0] == '\0' && y->resp.body.len == 0);
  CHECK_STR(lines(y), "Expect:|Host: 127.0.0.1:9|x-acs-action: InvokeFunction|"
                      "x-acs-date: 2024-01-01T00:00:00Z|Content-Type:");
  fc_xfer *z = fc_http_start(h, &r, NULL, &err); /* none idle: a new one */
  CHECK(z && z != y && z->easy != easy);
  fc_xfer_free(y);
  fc_xfer_free(z);
  CHECK(h->nidle == 2 && h->idle == z); /* the last freed is the next taken */
  fc_http_free(h);
}

/* Steady state: a request like the last one costs the core no allocation. */
static void a_reused_transfer_allocates_nothing(void) {
  fc_http *h = fc_http_new();
  int err;
  fc_http_request r = req("POST", "payload");
  r.ca_file = "/nonexistent/ca.pem"; /* read only when connecting */
  fc_xfer_free(fc_http_start(h, &r, NULL, &err));
  long before = allocs;
  for (int i = 0; i < 10; i++) {
    r.method = i % 2 ? "POST" : "GET";
    r.body = i % 2 ? "payload" : NULL;
    fc_xfer *x = fc_http_start(h, &r, NULL, &err);
    CHECK(x && err == FC_OK);
    fc_xfer_free(x);
  }
  CHECK(allocs == before);
  fc_http_free(h);
}

static void the_ca_file_is_the_requests_own(void) {
  fc_http *h = fc_http_new();
  int err;
  fc_http_request r = req("GET", NULL);
  r.ca_file = "/nonexistent/a.pem";
  fc_xfer *x = fc_http_start(h, &r, NULL, &err);
  CHECK(x->ca && strcmp(x->ca, "/nonexistent/a.pem") == 0);
  fc_xfer_free(x);
  r.ca_file = NULL; /* back to curl's default */
  x = fc_http_start(h, &r, NULL, &err);
  CHECK(x->ca == NULL);
  fc_xfer_free(x);
  r.ca_file = "/nonexistent/b.pem";
  x = fc_http_start(h, &r, NULL, &err);
  CHECK(x->ca && strcmp(x->ca, "/nonexistent/b.pem") == 0);
  fc_xfer_free(x);
  fc_http_free(h);
}

/* At most FC_HTTP_IDLE_HANDLES are kept; large blocks are not. */
static void the_pool_keeps_a_bounded_number(void) {
  enum { N = FC_HTTP_IDLE_HANDLES + 44 };
  static fc_xfer *xs[N];
  fc_http *h = fc_http_new();
  int err;
  fc_http_request r = req("GET", NULL);
  for (int i = 0; i < N; i++) CHECK((xs[i] = fc_http_start(h, &r, NULL, &err)) != NULL);
  for (int i = 0; i < N; i++) fc_xfer_free(xs[i]);
  CHECK(h->nidle == FC_HTTP_IDLE_HANDLES);
  static char big[100000];
  memset(big, 'b', sizeof big - 1);
  r = req("POST", big);
  fc_xfer *x = fc_http_start(h, &r, NULL, &err);
  CHECK(x && x->mem_cap >= sizeof big && in_block(x, x->body));
  fc_xfer_free(x);
  CHECK(x->mem == NULL && x->mem_cap == 0); /* idle, without its 100 KB */
  fc_http_free(h);
}

static void on_done(fc_xfer *x, void *arg) {
  (void)x;
  ++*(int *)arg;
}

/*
** Transfers outlive their pool: running, done, or never started; each is
** freed later by its owner, with its handle (the sanitizer build checks
** that nothing leaks and nothing freed is touched).
*/
static void transfers_outlive_their_pool(void) {
  fc_http *h = fc_http_new();
  int err, done = 0;
  fc_http_request r = req("POST", "x");
  fc_xfer *idle = fc_http_start(h, &r, NULL, &err);
  fc_xfer_free(idle);
  fc_xfer *finished = fc_http_start(h, &r, NULL, &err);
  for (int i = 0; i < 100 && !done; i++) fc_http_poll(h, 50, on_done, &done);
  CHECK(done == 1 && fc_xfer_done(finished) && !finished->running);
  CHECK(fc_xfer_response(finished)->error == FC_HTTP_CONNECT);
  fc_xfer *running = fc_http_start(h, &r, NULL, &err);
  fc_xfer *waiting = fc_http_start(h, &r, NULL, &err);
  CHECK(running && waiting && running->running && h->nidle == 0);
  fc_http_free(h);
  CHECK(finished->http == NULL && running->http == NULL && !running->running);
  CHECK(!fc_xfer_done(running) && fc_xfer_done(finished));
  CHECK(fc_xfer_response(finished)->error == FC_HTTP_CONNECT);
  fc_xfer_free(running);
  fc_xfer_free(finished);
  fc_xfer_free(waiting);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  RUN(header_list_in_one_block);
  RUN(a_freed_transfer_is_the_next_one);
  RUN(a_reused_transfer_allocates_nothing);
  RUN(the_ca_file_is_the_requests_own);
  RUN(the_pool_keeps_a_bounded_number);
  RUN(transfers_outlive_their_pool);
  curl_global_cleanup();
  DONE();
}
