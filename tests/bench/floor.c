/*
** floor.c: the floor of tests/bench/client.sh. A plain loop over libcurl's
** multi interface sending the request fcrun sends for fc.invoke(name,
** "ping") (the same header set, names, order and value sizes; fixed values,
** no signing, no Lua), keep-alive, CONCURRENCY easy handles reused.
**
**   floor BASE_URL CONCURRENCY REQUESTS [EXPECT_BODY [LABEL]]
**
** Like load.lua: a warm-up of max(4 * CONCURRENCY, 50) requests opens the
** connections, then REQUESTS are measured. Prints one line in load.lua's
** format:
**
**   RESULT label=.. c=.. n=.. warm=.. errors=.. secs=.. rps=.. p50_ms=..
**          p99_ms=.. client_cpu=.. cpu_us=..
**
** cpu_us is this process's user + system CPU (getrusage) over the measured
** requests, per request. CURL_CA_BUNDLE names the CA file to trust for an
** https BASE_URL (libcurl itself does not read it; the curl tool does).
*/
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define PATH "/2023-03-30/functions/hello/invocations"

/* fcrun's headers for fc.invoke("hello", "ping"), values fixed. */
static const char *const HEADERS[] = {
    "Expect:",
    "Accept: application/json",
    "User-Agent: fcrun/0.1 (lua 5.4)",
    "authorization: ACS3-HMAC-SHA256 Credential=LTAIbenchkey,SignedHeaders=content-type;"
    "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;"
    "x-acs-version,Signature=ad2417db412776c9e6e261be00538f06c130e9e02f24c98ad6beefde7b0d6666",
    "content-type: application/octet-stream",
    "x-acs-action: InvokeFunction",
    "x-acs-content-sha256: 758d61f26a44448384e5c4468a0dcb7a2abe456067b0f7b505bc28b9411fe931",
    "x-acs-date: 2026-11-26T14:21:26Z",
    "x-acs-signature-nonce: 230815ce57e426c3b29f38d9c1308ae2",
    "x-acs-version: 2023-03-30",
    "x-fc-invocation-type: Sync",
    "x-fc-log-type: None",
};

typedef struct slot {
  CURL *easy;
  char body[256];
  size_t len;
  double t0;
} slot;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Keeps the first 255 bytes of the body; the rest only counts. */
static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  slot *s = arg;
  size_t k = size * n, room = sizeof s->body - 1 - s->len;
  memcpy(s->body + s->len, p, k < room ? k : room);
  s->len += k < room ? k : room;
  return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  (void)p;
  (void)arg;
  return size * n;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct bench {
  CURLM *multi;
  slot *slots;
  int conc;
  const char *expect;
  double *lat;
} bench;

static void start(bench *b, slot *s) {
  s->len = 0;
  s->t0 = now();
  curl_multi_add_handle(b->multi, s->easy);
}

/* n requests with b->conc in flight; returns the errors, fills b->lat. */
static int run(bench *b, int n) {
  int started = 0, done = 0, errors = 0, running = 0;
  for (int i = 0; i < b->conc && started < n; i++, started++) start(b, &b->slots[i]);
  while (done < n) {
    if (curl_multi_perform(b->multi, &running) != CURLM_OK) return n;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(b->multi, &left))) {
      if (m->msg != CURLMSG_DONE) continue;
      slot *s = NULL;
      long status = 0;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
      curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      s->body[s->len] = '\0';
      if (m->data.result != CURLE_OK || status != 200 || strcmp(s->body, b->expect) != 0) {
        if (errors++ == 0)
          fprintf(stderr, "floor: first error: %s, status %ld, body '%.80s'\n",
                  curl_easy_strerror(m->data.result), status, s->body);
      }
      curl_multi_remove_handle(b->multi, s->easy);
      b->lat[done++] = now() - s->t0;
      if (started < n) {
        start(b, s);
        started++;
      }
    }
    if (done < n && curl_multi_poll(b->multi, NULL, 0, 1000, NULL) != CURLM_OK) return n;
  }
  return errors;
}

int main(int argc, char **argv) {
  if (argc < 4 || atoi(argv[2]) < 1 || atoi(argv[3]) < 1) {
    fprintf(stderr, "usage: floor BASE_URL CONCURRENCY REQUESTS [EXPECT_BODY [LABEL]]\n");
    return 2;
  }
  const char *base = argv[1], *expect = argc > 4 ? argv[4] : "hello";
  const char *label = argc > 5 ? argv[5] : "floor";
  const char *ca = getenv("CURL_CA_BUNDLE");
  int conc = atoi(argv[2]), total = atoi(argv[3]);
  int warm = conc * 4 > 50 ? conc * 4 : 50;
  char url[1024];
  if (snprintf(url, sizeof url, "%s%s", base, PATH) >= (int)sizeof url) return 2;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;

  struct curl_slist *hdrs = NULL;
  for (size_t i = 0; i < sizeof HEADERS / sizeof *HEADERS; i++) {
    struct curl_slist *l = curl_slist_append(hdrs, HEADERS[i]);
    if (!l) return 1;
    hdrs = l;
  }
  bench b = {curl_multi_init(), calloc((size_t)conc, sizeof(slot)), conc, expect,
             malloc(sizeof(double) * (size_t)(total > warm ? total : warm))};
  if (!b.multi || !b.slots || !b.lat) return 1;
  for (int i = 0; i < conc; i++) {
    slot *s = &b.slots[i];
    CURL *e = s->easy = curl_easy_init();
    if (!e) return 1;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)s);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca && *ca) curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "POST");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "ping");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)4);
  }

  run(&b, warm); /* connections, TLS sessions */
  double c0 = cpu(), t0 = now();
  int errors = run(&b, total);
  double secs = now() - t0, used = cpu() - c0;
  qsort(b.lat, (size_t)total, sizeof *b.lat, cmp_double);
  int i50 = (total + 1) / 2, i99 = (int)((double)total * 0.99 + 0.999);
  printf("RESULT label=%s c=%d n=%d warm=%d errors=%d secs=%.3f rps=%.0f p50_ms=%.2f "
         "p99_ms=%.2f client_cpu=%.2f cpu_us=%.1f\n",
         label, conc, total, warm, errors, secs, total / secs, b.lat[i50 - 1] * 1000,
         b.lat[(i99 < 1 ? 1 : i99) - 1] * 1000, used / secs, used * 1e6 / total);

  for (int k = 0; k < conc; k++) curl_easy_cleanup(b.slots[k].easy);
  curl_multi_cleanup(b.multi);
  curl_slist_free_all(hdrs);
  free(b.slots);
  free(b.lat);
  curl_global_cleanup();
  return errors ? 1 : 0;
}
