/*
** tasks.h: asynchronous invocations and the async task API.
** Submitted tasks wait in a queue; a few runner threads take them in order
** and invoke them through the host. Every task is kept in memory, bounded:
** past FC_TASKS_MAX tasks (or FC_TASKS_BYTES of payloads) the oldest
** finished ones are forgotten, and a submission that still does not fit is
** refused.
*/
#ifndef FC_EMU_TASKS_H
#define FC_EMU_TASKS_H

#include <stddef.h>

#include "buf.h"
#include "host.h"

#define FC_TASK_ID_MAX 128
#define FC_TASKS_MAX 2000
#define FC_TASKS_BYTES (64u << 20)
#define FC_TASK_RETURN_MAX (1u << 20) /* returnPayload is cut at 1 MB */

enum {
  FC_TASK_OK = 0,
  FC_TASK_NOTFOUND = 1,
  FC_TASK_EXISTS = 2,
  FC_TASK_FULL = 3,
  FC_TASK_FINISHED = 4
};

typedef struct fc_tasks fc_tasks;

typedef struct fc_task_submit {
  const char *function_name, *qualifier, *request_id;
  const char *task_id; /* NULL or "": generate one */
  const char *payload;
  size_t payload_len;
} fc_task_submit;

typedef struct fc_task_filter {
  int include_payload;
  int limit;                 /* 1-100 */
  unsigned long long token;  /* 0: from the start */
  const char *prefix;        /* NULL: any */
  const char *status;        /* NULL: any */
  const char *qualifier;     /* NULL: any */
  int descending;
  long long started_begin, started_end; /* ms; 0: unbounded */
} fc_task_filter;

/* arn_prefix: "acs:fc:local:ACCOUNT:functions/"; nthreads runners. */
int fc_tasks_new(fc_tasks **out, fc_host *h, const char *arn_prefix, int nthreads);
/* Stops the runners (running handlers are asked to stop) and frees all. */
void fc_tasks_free(fc_tasks *t);
int fc_valid_task_id(const char *s);
/* FC_TASK_OK with the id in id_out, FC_TASK_EXISTS, FC_TASK_FULL, FC_ENOMEM. */
int fc_tasks_submit(fc_tasks *t, const fc_task_submit *s, char id_out[FC_TASK_ID_MAX + 1]);
/* The AsyncTask JSON object; FC_TASK_OK or FC_TASK_NOTFOUND. */
int fc_tasks_get(fc_tasks *t, const char *fn, const char *id, int include_payload, fc_buf *out);
/* {"tasks":[...],"nextToken":"..."} */
int fc_tasks_list(fc_tasks *t, const char *fn, const fc_task_filter *f, fc_buf *out);
/* FC_TASK_OK, FC_TASK_NOTFOUND, or FC_TASK_FINISHED (status in status_out). */
int fc_tasks_stop(fc_tasks *t, const char *fn, const char *id, const char **status_out);

#endif
