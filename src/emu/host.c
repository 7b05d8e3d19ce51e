/*
** host.c: the host's life cycle. The work is in registry.c (functions),
** worker.c (lua_States and their threads) and invoke.c (one invocation).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host_int.h"
#include "util.h"

#define DEFAULT_WORKERS 512
#define CLOSE_SECONDS 2 /* how long fc_host_free waits for worker threads */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void free_strings(fc_host *h) {
  free(h->dir);
  free(h->key_id);
  fc_free_secret(h->key_secret);
  fc_free_secret(h->token);
  free(h->endpoint);
}

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
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) != 0) goto nomem;
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int ok = pthread_cond_init(&h->gone, &ca) == 0;
  pthread_condattr_destroy(&ca);
  if (!ok) goto nomem;
  if (pthread_mutex_init(&h->lock, NULL) != 0) {
    pthread_cond_destroy(&h->gone);
    goto nomem;
  }
  atomic_init(&h->stopping, 0);
  atomic_init(&h->next_gen, 0);
  *out = h;
  return 0;
nomem:
  if (h) {
    free_strings(h);
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
  fc_host_shutdown(h);
  if (fc_workers_wait(h, CLOSE_SECONDS) != 0) {
    /* a worker thread is stuck in a C call: it still uses h, which the
    ** process's exit reclaims */
    fprintf(stderr, "fcrun serve: a function is stuck in a C call; not waiting for it\n");
    return;
  }
  for (size_t i = 0; i < h->nfns; i++) free(h->fns[i]);
  free(h->fns);
  pthread_mutex_destroy(&h->lock);
  pthread_cond_destroy(&h->gone);
  free_strings(h);
  free(h);
}
