#include "tasks.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

enum { ST_ENQUEUED, ST_RUNNING, ST_STOPPING, ST_SUCCEEDED, ST_FAILED, ST_STOPPED };
static const char *const status_names[] = {"Enqueued",  "Running", "Stopping",
                                           "Succeeded", "Failed",  "Stopped"};

#define MAX_EVENTS 4

typedef struct task_event {
  int status;
  long long ms;
} task_event;

typedef struct task {
  char fn[FC_FN_NAME_MAX + 1];
  char id[FC_TASK_ID_MAX + 1];
  char request_id[64];
  char qualifier[130];
  char instance_id[48];
  char *payload;
  size_t payload_len;
  char *result; /* returnPayload */
  size_t result_len;
  char *error; /* taskErrorMessage */
  int status;
  long long started_ms, run_ms, end_ms;
  task_event events[MAX_EVENTS];
  int nevents;
  unsigned long long seq;
  atomic_int stop;
  struct task *prev, *next; /* all tasks, oldest first */
  struct task *qnext;       /* the run queue */
} task;

struct fc_tasks {
  fc_host *host;
  char *arn_prefix;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  task *first, *last; /* every task */
  task *qhead, *qtail;
  size_t count, bytes;
  unsigned long long seq;
  int shutdown;
  pthread_t *threads;
  int nthreads;
};

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int fc_valid_task_id(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > FC_TASK_ID_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '-'))) return 0;
  }
  return 1;
}

static size_t task_bytes(const task *k) {
  return sizeof *k + k->payload_len + k->result_len + (k->error ? strlen(k->error) : 0);
}

static void add_event(task *k, int status) {
  k->status = status;
  if (k->nevents < MAX_EVENTS) k->events[k->nevents++] = (task_event){status, now_ms()};
}

static int finished(const task *k) { return k->status >= ST_SUCCEEDED; }

static void task_free(task *k) {
  free(k->payload);
  free(k->result);
  free(k->error);
  free(k);
}

static void unlink_task(fc_tasks *t, task *k) {
  if (k->prev) k->prev->next = k->next;
  else t->first = k->next;
  if (k->next) k->next->prev = k->prev;
  else t->last = k->prev;
  t->count--;
  t->bytes -= task_bytes(k);
}

/* Forgets the oldest finished tasks until the store is within its bounds
** with room for `extra` more bytes and one more task. */
static void evict_locked(fc_tasks *t, size_t extra) {
  task *k = t->first;
  while (k && (t->count + 1 > FC_TASKS_MAX || t->bytes + extra > FC_TASKS_BYTES)) {
    task *next = k->next;
    if (finished(k)) {
      unlink_task(t, k);
      task_free(k);
    }
    k = next;
  }
}

static task *find_locked(fc_tasks *t, const char *fn, const char *id) {
  for (task *k = t->last; k; k = k->prev)
    if (strcmp(k->id, id) == 0 && strcmp(k->fn, fn) == 0) return k;
  return NULL;
}

/* An id in FC's style: 25 lower-case letters and digits, starting with a letter. */
static void generate_id(char *out) {
  fc_random_text(out, 1, "abcdefghijklmnopqrstuvwxyz");
  fc_random_text(out + 1, 24, "abcdefghijklmnopqrstuvwxyz0123456789");
}

int fc_tasks_submit(fc_tasks *t, const fc_task_submit *s, char id_out[FC_TASK_ID_MAX + 1]) {
  task *k = calloc(1, sizeof *k);
  if (!k) return FC_ENOMEM;
  if (s->payload_len) {
    k->payload = malloc(s->payload_len);
    if (!k->payload) {
      free(k);
      return FC_ENOMEM;
    }
    memcpy(k->payload, s->payload, s->payload_len);
    k->payload_len = s->payload_len;
  }
  snprintf(k->fn, sizeof k->fn, "%s", s->function_name);
  snprintf(k->request_id, sizeof k->request_id, "%s", s->request_id);
  snprintf(k->qualifier, sizeof k->qualifier, "%s",
           s->qualifier && *s->qualifier ? s->qualifier : "LATEST");
  atomic_init(&k->stop, 0);
  k->started_ms = now_ms();
  add_event(k, ST_ENQUEUED);

  pthread_mutex_lock(&t->lock);
  if (s->task_id && *s->task_id) {
    snprintf(k->id, sizeof k->id, "%s", s->task_id);
    if (find_locked(t, k->fn, k->id)) {
      pthread_mutex_unlock(&t->lock);
      task_free(k);
      return FC_TASK_EXISTS;
    }
  } else {
    do generate_id(k->id);
    while (find_locked(t, k->fn, k->id));
  }
  evict_locked(t, task_bytes(k));
  if (t->count + 1 > FC_TASKS_MAX || t->bytes + task_bytes(k) > FC_TASKS_BYTES ||
      t->shutdown) {
    pthread_mutex_unlock(&t->lock);
    task_free(k);
    return FC_TASK_FULL;
  }
  k->seq = ++t->seq;
  k->prev = t->last;
  if (t->last) t->last->next = k;
  else t->first = k;
  t->last = k;
  t->count++;
  t->bytes += task_bytes(k);
  if (t->qtail) t->qtail->qnext = k;
  else t->qhead = k;
  t->qtail = k;
  memcpy(id_out, k->id, sizeof k->id);
  pthread_cond_signal(&t->wake);
  pthread_mutex_unlock(&t->lock);
  return FC_TASK_OK;
}

static task *dequeue_locked(fc_tasks *t) {
  task *k = t->qhead;
  if (k) {
    t->qhead = k->qnext;
    if (!t->qhead) t->qtail = NULL;
    k->qnext = NULL;
  }
  return k;
}

/* Takes k out of the run queue (a task stopped before it ran). */
static void unqueue_locked(fc_tasks *t, task *k) {
  task *prev = NULL;
  for (task *q = t->qhead; q; prev = q, q = q->qnext) {
    if (q != k) continue;
    if (prev) prev->qnext = q->qnext;
    else t->qhead = q->qnext;
    if (t->qtail == q) t->qtail = prev;
    q->qnext = NULL;
    return;
  }
}

static void requeue_locked(fc_tasks *t, task *k) {
  if (t->qtail) t->qtail->qnext = k;
  else t->qhead = k;
  t->qtail = k;
}

/* Records an invocation's outcome in its task (lock held). */
static void finish_locked(fc_tasks *t, task *k, int rc, fc_invocation *inv) {
  t->bytes -= task_bytes(k);
  k->end_ms = now_ms();
  const char *err = NULL;
  if (k->status == ST_STOPPING || k->status == ST_STOPPED || inv->stopped) {
    err = "the task was stopped by StopAsyncTask";
    add_event(k, ST_STOPPED);
  } else if (rc == FC_HOST_NOTFOUND) {
    err = "the function does not exist";
    add_event(k, ST_FAILED);
  } else if (rc == FC_HOST_NOQUALIFIER) {
    err = "the qualifier is not an alias or version of the function";
    add_event(k, ST_FAILED);
  } else if (rc != FC_HOST_OK) {
    err = "an internal error has occurred";
    add_event(k, ST_FAILED);
  } else if (inv->failed) {
    err = inv->error_message;
    add_event(k, ST_FAILED);
  } else {
    add_event(k, ST_SUCCEEDED);
  }
  snprintf(k->instance_id, sizeof k->instance_id, "%s", inv->instance_id);
  if (err) k->error = strdup(err);
  if (rc == FC_HOST_OK && inv->body.len) {
    size_t n = inv->body.len < FC_TASK_RETURN_MAX ? inv->body.len : FC_TASK_RETURN_MAX;
    k->result = malloc(n);
    if (k->result) {
      memcpy(k->result, inv->body.data, n);
      k->result_len = n;
    }
  }
  t->bytes += task_bytes(k);
  evict_locked(t, 0);
}

/*
** A runner: takes the next task, invokes it, records the result. A task
** whose function is at its concurrency limit (or with no free worker) goes
** back to the end of the queue and the runner pauses briefly.
*/
static void *runner(void *arg) {
  fc_tasks *t = arg;
  pthread_mutex_lock(&t->lock);
  while (!t->shutdown) {
    task *k = dequeue_locked(t);
    if (!k) {
      pthread_cond_wait(&t->wake, &t->lock);
      continue;
    }
    if (k->status != ST_ENQUEUED) continue; /* stopped while queued */
    add_event(k, ST_RUNNING);
    k->run_ms = now_ms();
    fc_invocation inv;
    fc_invocation_init(&inv);
    inv.function_name = k->fn;
    inv.qualifier = k->qualifier;
    inv.request_id = k->request_id;
    inv.payload = k->payload;
    inv.payload_len = k->payload_len;
    inv.stop = &k->stop;
    pthread_mutex_unlock(&t->lock);
    int rc = fc_host_invoke(t->host, &inv);
    pthread_mutex_lock(&t->lock);
    if ((rc == FC_HOST_BUSY || rc == FC_HOST_NOWORKER) && k->status == ST_RUNNING &&
        !t->shutdown) {
      k->status = ST_ENQUEUED;
      k->nevents--;
      requeue_locked(t, k);
      pthread_mutex_unlock(&t->lock);
      struct timespec d = {0, 20 * 1000000};
      nanosleep(&d, NULL);
      pthread_mutex_lock(&t->lock);
    } else {
      finish_locked(t, k, rc, &inv);
    }
    fc_invocation_free(&inv);
  }
  pthread_mutex_unlock(&t->lock);
  return NULL;
}

int fc_tasks_new(fc_tasks **out, fc_host *h, const char *arn_prefix, int nthreads) {
  *out = NULL;
  fc_tasks *t = calloc(1, sizeof *t);
  if (!t) return FC_ENOMEM;
  t->host = h;
  t->arn_prefix = strdup(arn_prefix);
  t->threads = calloc((size_t)nthreads, sizeof *t->threads);
  if (!t->arn_prefix || !t->threads) goto fail;
  if (pthread_mutex_init(&t->lock, NULL) != 0) goto fail;
  if (pthread_cond_init(&t->wake, NULL) != 0) {
    pthread_mutex_destroy(&t->lock);
    goto fail;
  }
  for (int i = 0; i < nthreads; i++) {
    if (pthread_create(&t->threads[i], NULL, runner, t) != 0) break;
    t->nthreads++;
  }
  if (t->nthreads == 0) {
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    goto fail;
  }
  *out = t;
  return FC_OK;
fail:
  free(t->threads);
  free(t->arn_prefix);
  free(t);
  return FC_ENOMEM;
}

void fc_tasks_free(fc_tasks *t) {
  if (!t) return;
  pthread_mutex_lock(&t->lock);
  t->shutdown = 1;
  for (task *k = t->first; k; k = k->next) atomic_store(&k->stop, 1);
  pthread_cond_broadcast(&t->wake);
  pthread_mutex_unlock(&t->lock);
  for (int i = 0; i < t->nthreads; i++) pthread_join(t->threads[i], NULL);
  for (task *k = t->first; k;) {
    task *next = k->next;
    task_free(k);
    k = next;
  }
  pthread_cond_destroy(&t->wake);
  pthread_mutex_destroy(&t->lock);
  free(t->threads);
  free(t->arn_prefix);
  free(t);
}

/* One AsyncTask object, FC-PROTOCOL §7.1 field names (lock held). */
static int task_json(fc_tasks *t, const task *k, int include_payload, fc_buf *out) {
  int rc = fc_buf_adds(out, "{\"taskId\":");
  if (!rc) rc = fc_json_str(out, k->id, strlen(k->id));
  if (!rc) rc = fc_buf_printf(out, ",\"requestId\":\"%s\",\"functionArn\":", k->request_id);
  if (!rc) rc = fc_buf_printf(out, "\"%s%s\",\"qualifier\":", t->arn_prefix, k->fn);
  if (!rc) rc = fc_json_str(out, k->qualifier, strlen(k->qualifier));
  if (!rc)
    rc = fc_buf_printf(out, ",\"status\":\"%s\",\"startedTime\":%lld,\"alreadyRetriedTimes\":0",
                       status_names[k->status], k->started_ms);
  if (!rc && finished(k)) {
    long long d = k->run_ms ? k->end_ms - k->run_ms : 0;
    rc = fc_buf_printf(out, ",\"endTime\":%lld,\"durationMs\":%lld", k->end_ms, d);
    if (!rc) rc = fc_buf_printf(out, ",\"destinationStatus\":\"%s\"",
                                k->status == ST_SUCCEEDED ? "Succeeded" : "Failed");
  }
  if (!rc && k->instance_id[0]) rc = fc_buf_printf(out, ",\"instanceId\":\"%s\"", k->instance_id);
  if (!rc && k->result) {
    rc = fc_buf_adds(out, ",\"returnPayload\":");
    if (!rc) rc = fc_json_str(out, k->result, k->result_len);
  }
  if (!rc && k->error) {
    rc = fc_buf_adds(out, ",\"taskErrorMessage\":");
    if (!rc) rc = fc_json_str(out, k->error, strlen(k->error));
  }
  if (!rc && include_payload) {
    rc = fc_buf_adds(out, ",\"taskPayload\":");
    if (!rc) rc = fc_json_str(out, k->payload ? k->payload : "", k->payload_len);
  }
  if (!rc) rc = fc_buf_adds(out, ",\"events\":[");
  for (int i = 0; i < k->nevents && !rc; i++)
    rc = fc_buf_printf(out, "%s{\"eventId\":%d,\"status\":\"%s\",\"timestamp\":%lld,"
                       "\"eventDetail\":\"\"}", i ? "," : "", i + 1,
                       status_names[k->events[i].status], k->events[i].ms);
  if (!rc) rc = fc_buf_adds(out, "]}");
  return rc;
}

int fc_tasks_get(fc_tasks *t, const char *fn, const char *id, int include_payload, fc_buf *out) {
  pthread_mutex_lock(&t->lock);
  task *k = find_locked(t, fn, id);
  int rc = k ? task_json(t, k, include_payload, out) : FC_TASK_NOTFOUND;
  pthread_mutex_unlock(&t->lock);
  return rc;
}

static int matches(const task *k, const char *fn, const fc_task_filter *f) {
  if (strcmp(k->fn, fn) != 0) return 0;
  if (f->prefix && strncmp(k->id, f->prefix, strlen(f->prefix)) != 0) return 0;
  if (f->status && strcmp(status_names[k->status], f->status) != 0) return 0;
  if (f->qualifier && *f->qualifier && strcmp(k->qualifier, f->qualifier) != 0) return 0;
  if (f->started_begin && k->started_ms < f->started_begin) return 0;
  if (f->started_end && k->started_ms > f->started_end) return 0;
  if (f->token && (f->descending ? k->seq > f->token : k->seq < f->token)) return 0;
  return 1;
}

/* Tasks of fn in submission order (or its reverse); the token is the
** sequence number of the first task of the next page. */
int fc_tasks_list(fc_tasks *t, const char *fn, const fc_task_filter *f, fc_buf *out) {
  pthread_mutex_lock(&t->lock);
  int rc = fc_buf_adds(out, "{\"tasks\":[");
  int n = 0;
  unsigned long long next = 0;
  for (task *k = f->descending ? t->last : t->first; k && !rc;
       k = f->descending ? k->prev : k->next) {
    if (!matches(k, fn, f)) continue;
    if (n == f->limit) {
      next = k->seq;
      break;
    }
    if (n) rc = fc_buf_addc(out, ',');
    if (!rc) rc = task_json(t, k, f->include_payload, out);
    n++;
  }
  if (!rc) rc = next ? fc_buf_printf(out, "],\"nextToken\":\"%llu\"}", next)
                     : fc_buf_adds(out, "]}");
  pthread_mutex_unlock(&t->lock);
  return rc;
}

int fc_tasks_stop(fc_tasks *t, const char *fn, const char *id, const char **status_out) {
  pthread_mutex_lock(&t->lock);
  task *k = find_locked(t, fn, id);
  int rc = FC_TASK_OK;
  if (!k) {
    rc = FC_TASK_NOTFOUND;
  } else if (finished(k)) {
    *status_out = status_names[k->status];
    rc = FC_TASK_FINISHED;
  } else if (k->status == ST_ENQUEUED) {
    unqueue_locked(t, k);
    add_event(k, ST_STOPPED);
    k->end_ms = now_ms();
    t->bytes -= task_bytes(k);
    k->error = strdup("the task was stopped by StopAsyncTask");
    t->bytes += task_bytes(k);
  } else {
    atomic_store(&k->stop, 1);
    if (k->status == ST_RUNNING) add_event(k, ST_STOPPING);
  }
  pthread_mutex_unlock(&t->lock);
  return rc;
}
