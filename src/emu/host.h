/*
** host.h: the emulator's Lua function host.
** Functions are DIR/NAME.lua files. The host keeps a registry of their
** settings (read by running each file once in a scratch lua_State whenever
** the file changes) and, per function and code generation, a pool of
** worker lua_States with their own threads, the fc module preloaded and
** configured to call back into the emulator. An invocation borrows a
** worker of its function, runs the handler under a deadline, a stop flag
** and a memory limit, and returns its output, error and log; the caller
** gets its answer at the deadline whatever the function does.
*/
#ifndef FC_EMU_HOST_H
#define FC_EMU_HOST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define FC_FN_NAME_MAX 64
#define FC_LOG_TAIL 4096                 /* bytes of log FC returns */
#define FC_SYNC_PAYLOAD_MAX (32u << 20)  /* 32 MB */
#define FC_ASYNC_PAYLOAD_MAX (128u << 10) /* 128 KB */
#define FC_RESPONSE_MAX (32u << 20)

typedef struct fc_host fc_host;

typedef struct fc_host_options {
  const char *dir;
  const char *access_key_id, *access_key_secret, *security_token;
  size_t max_workers; /* 0: a default */
} fc_host_options;

/* One function as GetFunction describes it. */
typedef struct fc_fn_info {
  char name[FC_FN_NAME_MAX + 1];
  int timeout;          /* seconds */
  int memory;           /* MB */
  int concurrency;      /* most invocations at once */
  char description[257];
  char qualifiers[1024]; /* ','-separated, besides LATEST */
  uint64_t checksum;    /* CRC-64 (ECMA-182, as OSS) of the file */
  long long code_size;
  long long created_ms, modified_ms;
  char load_error[512]; /* non-empty when the file does not load */
} fc_fn_info;

/* What an invocation needs, and what it produced. */
typedef struct fc_invocation {
  const char *function_name, *qualifier, *request_id;
  const char *payload;
  size_t payload_len;
  atomic_int *stop; /* may be NULL; non-zero stops the handler */
  int want_log;
  /* results */
  fc_buf body;          /* the response body (output, or the error JSON) */
  const char *content_type;
  int failed;           /* an unhandled function error */
  int timed_out, stopped;
  char error_message[512]; /* the error's message, for async tasks */
  fc_buf log;           /* FC-format log tail, when want_log */
  double duration_ms, max_memory_mb;
  int memory_size;
  int concurrency;      /* the function's limit, for a FC_HOST_BUSY answer */
  char instance_id[48];
  uint64_t checksum;
} fc_invocation;

enum {
  FC_HOST_OK = 0,
  FC_HOST_NOTFOUND = 1,
  FC_HOST_BUSY = 2,
  FC_HOST_NOWORKER = 3,
  FC_HOST_NOQUALIFIER = 4
};

int fc_host_new(fc_host **out, const fc_host_options *o, char *err, size_t errlen);
/* Every running handler stops at its next hook check. */
void fc_host_shutdown(fc_host *h);
void fc_host_free(fc_host *h);
/* The URL workers give fc.configure; set once the port is known. */
int fc_host_set_endpoint(fc_host *h, const char *endpoint);

/* FC's rule: letters, digits, _ and -, not starting with a digit or -, 1-64. */
int fc_valid_function_name(const char *s);
/* FC_HOST_OK (info filled), FC_HOST_NOTFOUND, or FC_ENOMEM. */
int fc_host_lookup(fc_host *h, const char *name, fc_fn_info *info);
/* Every function in DIR, sorted by name; free(*out). */
int fc_host_list(fc_host *h, fc_fn_info **out, size_t *n);
/* 1 when q is LATEST or one of the function's qualifiers. */
int fc_fn_has_qualifier(const fc_fn_info *info, const char *q);

void fc_invocation_init(fc_invocation *inv);
void fc_invocation_free(fc_invocation *inv);
/* FC_HOST_OK when the handler ran (inv->failed says whether it failed),
** FC_HOST_NOTFOUND, FC_HOST_NOQUALIFIER (not LATEST nor one of the
** function's qualifiers), FC_HOST_BUSY (the function's concurrency is used
** up), FC_HOST_NOWORKER (every worker is busy), or FC_ENOMEM. */
int fc_host_invoke(fc_host *h, fc_invocation *inv);

#endif
