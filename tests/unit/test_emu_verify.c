/*
** The emulator's request verification (src/emu/verify.c): the wire
** requests and outcomes of tests/data/emu_verify.cases (its header says
** the format), signed here with fcrun's own signer; and the two parts
** that are not requests, the date parser and the nonce store.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "encode.h"
#include "sign.h"
#include "test.h"
#include "verify.h"

#define DATE "2023-10-26T10:22:32Z"
#define T0 1698315752 /* DATE as a unix time */
#define MAXH 32

/* One case, as read from the file. */
typedef struct tcase {
  char name[160];
  long now;
  char token[64], key_id[64], key_secret[64];
  int nonces; /* 0 none, 1 shared, 2 full */
  char method[16], path[800], query[800];
  char names[MAXH][64], values[MAXH][512];
  size_t nh;
  fc_buf body;
  char after[16][1024];
  size_t nafter;
  int status;
  char code[64], contains[160], absent[160];
} tcase;

/* A bounded copy that truncates on purpose (snprintf "%s" draws
** -Wformat-truncation at -O2): the case file's fields have fixed sizes. */
static void copy(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static void chomp(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
}

static int find_header(tcase *c, const char *name) {
  for (size_t i = 0; i < c->nh; i++)
    if (strcasecmp(c->names[i], name) == 0) return (int)i;
  return -1;
}

static void set_header(tcase *c, const char *name, const char *value) {
  int i = find_header(c, name);
  if (i < 0) {
    if (c->nh == MAXH) return;
    i = (int)c->nh++;
    copy(c->names[i], sizeof c->names[0], name);
  }
  copy(c->values[i], sizeof c->values[0], value);
}

static void drop_header(tcase *c, const char *name) {
  int i = find_header(c, name);
  if (i < 0) return;
  for (size_t k = (size_t)i + 1; k < c->nh; k++) {
    memcpy(c->names[k - 1], c->names[k], sizeof c->names[0]);
    memcpy(c->values[k - 1], c->values[k], sizeof c->values[0]);
  }
  c->nh--;
}

/* "Name: value" into name and value (pointers into line). */
static int split_header(char *line, char **name, char **value) {
  char *colon = strchr(line, ':');
  if (!colon) return -1;
  *colon = '\0';
  *name = line;
  *value = colon + 1;
  while (**value == ' ') (*value)++;
  return 0;
}

/* The query string, form-decoded, into kv (storage in bufs). */
static size_t parse_query(const char *q, fc_kv *kv, fc_buf *bufs, size_t max) {
  size_t n = 0;
  for (const char *p = q; *p && n < max / 2;) {
    size_t k = strcspn(p, "&");
    const char *eq = memchr(p, '=', k);
    size_t nk = eq ? (size_t)(eq - p) : k;
    fc_buf_reset(&bufs[2 * n]);
    fc_buf_reset(&bufs[2 * n + 1]);
    fc_form_decode(&bufs[2 * n], p, nk);
    if (eq) fc_form_decode(&bufs[2 * n + 1], eq + 1, k - nk - 1);
    kv[n] = (fc_kv){fc_buf_str(&bufs[2 * n]), fc_buf_str(&bufs[2 * n + 1])};
    n++;
    p += k;
    if (*p == '&') p++;
  }
  return n;
}

static void hash_hex(char out[65], const void *p, size_t n) {
  unsigned char d[FC_SHA256_LEN];
  fc_sha256(p, n, d);
  fc_hex(out, d, sizeof d);
}

/* Replaces @hash and @sign as the file's header says. */
static void sign_case(tcase *c, fc_kv *qv, size_t nq) {
  char hex[65];
  hash_hex(hex, c->body.data ? c->body.data : "", c->body.len);
  for (size_t i = 0; i < c->nh; i++)
    if (strcmp(c->values[i], "@hash") == 0) copy(c->values[i], sizeof c->values[0], hex);
  int a = find_header(c, "Authorization");
  if (a < 0 || strncmp(c->values[a], "@sign", 5) != 0) return;
  char opts[512], id[64] = "testid", secret[64] = "testsecret", only[400] = "";
  copy(opts, sizeof opts, c->values[a] + 5);
  for (char *tok = strtok(opts, " "); tok; tok = strtok(NULL, " ")) {
    if (strncmp(tok, "id=", 3) == 0) copy(id, sizeof id, tok + 3);
    if (strncmp(tok, "secret=", 7) == 0) copy(secret, sizeof secret, tok + 7);
    if (strncmp(tok, "only=", 5) == 0) copy(only, sizeof only, tok + 5);
  }
  fc_kv hv[MAXH];
  size_t n = 0;
  for (size_t i = 0; i < c->nh; i++)
    if ((int)i != a) hv[n++] = (fc_kv){c->names[i], c->values[i]};
  fc_sign_input in = {c->method, c->path, qv, nq, hv, n, only[0] ? only : NULL, hex, id, secret};
  fc_signature s;
  fc_signature_init(&s);
  CHECK(fc_sign(&s, &in) == FC_OK);
  copy(c->values[a], sizeof c->values[0], fc_buf_str(&s.authorization));
  fc_signature_free(&s);
}

static void apply_after(tcase *c) {
  for (size_t i = 0; i < c->nafter; i++) {
    char *line = c->after[i], *name, *value;
    if (line[0] == '-') drop_header(c, line + 1);
    else if (strncmp(line, "@body ", 6) == 0) {
      fc_buf_reset(&c->body);
      fc_buf_adds(&c->body, line + 6);
    } else if (strncmp(line, "@method ", 8) == 0) copy(c->method, sizeof c->method, line + 8);
    else if (strncmp(line, "@path ", 6) == 0) copy(c->path, sizeof c->path, line + 6);
    else if (strncmp(line, "@query ", 7) == 0) copy(c->query, sizeof c->query, line + 7);
    else if (split_header(line, &name, &value) == 0) set_header(c, name, value);
  }
}

static fc_nonce_store *shared_nonces;

static void run_case(tcase *c) {
  t_ok = 1;
  fc_buf qb[32];
  for (int i = 0; i < 32; i++) fc_buf_init(&qb[i], 4096);
  fc_kv qv[16];
  size_t nq = parse_query(c->query, qv, qb, 32);
  sign_case(c, qv, nq);
  apply_after(c);
  nq = parse_query(c->query, qv, qb, 32);
  fc_kv hv[MAXH];
  for (size_t i = 0; i < c->nh; i++) hv[i] = (fc_kv){c->names[i], c->values[i]};
  fc_verify_keys keys = {c->key_id[0] ? c->key_id : "testid",
                         c->key_secret[0] ? c->key_secret : "testsecret",
                         c->token[0] ? c->token : NULL};
  fc_nonce_store *ns = NULL;
  if (c->nonces == 1) ns = shared_nonces;
  if (c->nonces == 2) { /* full of nonces that live past the case's clock */
    CHECK(fc_nonce_store_new(&ns, 16) == FC_OK);
    char n[16];
    for (int i = 0; i < 16; i++) {
      snprintf(n, sizeof n, "live%d", i);
      fc_nonce_store_add(ns, n, T0 + 900, T0);
    }
  }
  fc_verify_request rq = {c->method, c->path, qv, nq, hv, c->nh,
                          c->body.data ? c->body.data : "", c->body.len};
  fc_verify_error err;
  memset(&err, 0, sizeof err);
  err.code = "";
  int status = fc_verify(&keys, ns, &rq, T0 + c->now, &err) == 0 ? 200 : err.status;
  if (status != c->status || (c->code[0] && strcmp(err.code, c->code) != 0) ||
      (c->contains[0] && !strstr(err.message, c->contains)) ||
      (c->absent[0] && strstr(err.message, c->absent))) {
    fprintf(stderr, "  want %d %s [%s]%s%s\n  got  %d %s [%s]\n", c->status, c->code, c->contains,
            c->absent[0] ? " without " : "", c->absent, status, err.code, err.message);
    t_ok = 0;
  }
  if (c->nonces == 2) fc_nonce_store_free(ns);
  for (int i = 0; i < 32; i++) fc_buf_free(&qb[i]);
  if (t_ok) t_passed++;
  else t_failed++;
  printf("%s %s\n", t_ok ? "ok  " : "FAIL", c->name);
}

/* Reads the cases of path and runs each; -1 when the file cannot be read. */
static int run_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return -1;
  }
  CHECK(fc_nonce_store_new(&shared_nonces, 1024) == FC_OK);
  static tcase c;
  int have = 0;
  char section[16] = "";
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    chomp(line);
    if (strncmp(line, "=== case ", 9) == 0) {
      if (have) run_case(&c);
      fc_buf_free(&c.body);
      memset(&c, 0, sizeof c);
      fc_buf_init(&c.body, 1 << 20);
      copy(c.name, sizeof c.name, line + 9);
      have = 1;
      section[0] = '\0';
      continue;
    }
    if (!have) continue;
    if (strncmp(line, "--- ", 4) == 0) {
      copy(section, sizeof section, line + 4);
      if (strcmp(section, "request") == 0) c.method[0] = '\0';
      continue;
    }
    if (!section[0]) { /* settings */
      if (strncmp(line, "now: ", 5) == 0) c.now = strtol(line + 5, NULL, 10);
      else if (strncmp(line, "token: ", 7) == 0) copy(c.token, sizeof c.token, line + 7);
      else if (strncmp(line, "keys: ", 6) == 0) sscanf(line + 6, "%63s %63s", c.key_id, c.key_secret);
      else if (strcmp(line, "nonces: shared") == 0) c.nonces = 1;
      else if (strcmp(line, "nonces: full") == 0) c.nonces = 2;
    } else if (strcmp(section, "request") == 0) {
      if (!line[0]) continue;
      if (!c.method[0]) {
        char target[800] = "";
        sscanf(line, "%15s %799s", c.method, target);
        char *q = strchr(target, '?');
        if (q) {
          *q = '\0';
          copy(c.query, sizeof c.query, q + 1);
        }
        copy(c.path, sizeof c.path, target);
      } else {
        char *name, *value;
        if (split_header(line, &name, &value) == 0) set_header(&c, name, value);
      }
    } else if (strcmp(section, "body") == 0) {
      if (c.body.len) fc_buf_addc(&c.body, '\n');
      fc_buf_adds(&c.body, line);
    } else if (strcmp(section, "after") == 0) {
      if (line[0] && c.nafter < 16) copy(c.after[c.nafter++], sizeof c.after[0], line);
    } else if (strcmp(section, "expect") == 0) {
      if (!line[0]) continue;
      if (line[0] == '!') {
        copy(c.absent, sizeof c.absent, line + 1);
      } else {
        int used = 0;
        sscanf(line, "%d %63s %n", &c.status, c.code, &used);
        if (used) copy(c.contains, sizeof c.contains, line + used);
      }
    }
  }
  if (have) run_case(&c);
  fc_buf_free(&c.body);
  fclose(f);
  fc_nonce_store_free(shared_nonces);
  return 0;
}

static void parse_date(void) {
  time_t t = 0;
  CHECK(fc_verify_parse_date(DATE, &t) == FC_OK && t == T0);
  CHECK(fc_verify_parse_date("1970-01-01T00:00:00Z", &t) == FC_OK && t == 0);
  CHECK(fc_verify_parse_date("2023-10-26T10:22:32", &t) == FC_EINVAL);
  CHECK(fc_verify_parse_date("2023-13-26T10:22:32Z", &t) == FC_EINVAL);
  CHECK(fc_verify_parse_date("2023-10-26 10:22:32Z", &t) == FC_EINVAL);
  CHECK(fc_verify_parse_date("2023-1a-26T10:22:32Z", &t) == FC_EINVAL);
}

static void nonce_store_bounds(void) {
  fc_nonce_store *ns;
  CHECK(fc_nonce_store_new(&ns, 16) == FC_OK);
  char n[80];
  for (int i = 0; i < 16; i++) {
    snprintf(n, sizeof n, "n%d", i);
    CHECK(fc_nonce_store_add(ns, n, 1000, 0) == 0);
  }
  CHECK(fc_nonce_store_add(ns, "n3", 1000, 0) == 1);
  /* full of live nonces: a new one is refused, none is forgotten */
  CHECK(fc_nonce_store_add(ns, "n16", 1000, 0) == FC_NONCE_FULL);
  CHECK(fc_nonce_store_add(ns, "n0", 1000, 0) == 1);
  CHECK(fc_nonce_store_add(ns, "n5", 1000, 0) == 1);
  /* entries that expired out of arrival order make room too */
  CHECK(fc_nonce_store_add(ns, "late", 1000, 999) == FC_NONCE_FULL);
  /* expired entries are pruned and no longer count */
  CHECK(fc_nonce_store_add(ns, "n5", 3000, 2000) == 0);
  /* long nonces are told apart by their whole length */
  memset(n, 'a', 79);
  n[79] = '\0';
  CHECK(fc_nonce_store_add(ns, n, 3000, 2000) == 0);
  n[78] = 'b';
  CHECK(fc_nonce_store_add(ns, n, 3000, 2000) == 0);
  CHECK(fc_nonce_store_add(ns, n, 3000, 2000) == 1);
  fc_nonce_store_free(ns);
}

int main(int argc, char **argv) {
  const char *cases = argc > 1 ? argv[1] : "tests/data/emu_verify.cases";
  if (run_file(cases) != 0) return 2;
  RUN(parse_date);
  RUN(nonce_store_bounds);
  DONE();
}
