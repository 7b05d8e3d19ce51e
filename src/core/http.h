/*
** http.h: HTTP transfers on one curl multi handle.
** One fc_http is one connection pool: every client of a process shares it,
** so connections are reused across clients and calls. Transfers are started
** without blocking and completed by fc_http_poll, which the caller drives
** (the Lua scheduler, or a loop that waits for one transfer). A freed
** transfer goes back to its pool, curl easy handle and buffers included
** (at most FC_HTTP_IDLE_HANDLES of them), and the next start takes it: a
** request costs no curl_easy_init, and nothing of one request reaches the
** next (every option that depends on the request is set every time).
*/
#ifndef FC_HTTP_H
#define FC_HTTP_H

#include <stddef.h>

#include "buf.h"

#define FC_HTTP_MAX_HEADERS (64u << 10)  /* response header bytes */
#define FC_HTTP_MAX_BODY (32u << 20)     /* default response body bound */
#define FC_HTTP_IDLE_SECONDS 50          /* FC closes idle connections at 90 s */
#define FC_HTTP_IDLE_HANDLES 256         /* freed transfers a pool keeps for reuse */

/* How a transfer failed, before or instead of an HTTP status. */
enum fc_http_error {
  FC_HTTP_OK = 0,
  FC_HTTP_CONNECT,  /* refused, unreachable, or broken before any request byte was written */
  FC_HTTP_DNS,      /* host name not resolved */
  FC_HTTP_TIMEOUT,  /* connect or total timeout */
  FC_HTTP_TLS,      /* handshake or certificate */
  FC_HTTP_TOOBIG,   /* response past its bound */
  FC_HTTP_NOMEM,
  FC_HTTP_OTHER,    /* "transport": anything else (e.g. a malformed answer) */
  FC_HTTP_CLOSED    /* closed or reset after the request was written, before a
                       complete answer: the server may have acted on it */
};
const char *fc_http_error_name(int err); /* "connect", "timeout", ... */

typedef struct fc_http_request {
  const char *method;
  const char *url;
  const char *const *headers; /* "Name: value" lines */
  size_t nheaders;
  const char *body; /* copied; may be NULL */
  size_t body_len;
  long timeout_ms;         /* whole transfer; 0: none */
  long connect_timeout_ms; /* 0: curl's default */
  size_t max_body;         /* 0: FC_HTTP_MAX_BODY */
  const char *ca_file;     /* CA bundle to verify the server with; NULL: the system's */
} fc_http_request;

/* Where a transfer's time went (curl's breakdown), for traces and stats:
** seconds from the start to each phase's end (0 when the phase did not
** happen, e.g. no TLS on http or a reused connection), the bytes on the
** wire (headers and bodies), and the wall-clock time it ended. */
typedef struct fc_http_timing {
  double dns, connect, tls, first_byte, total;
  double bytes_sent, bytes_received;
  double ended_at; /* seconds since the epoch (CLOCK_REALTIME) */
} fc_http_timing;

typedef struct fc_http_response {
  long status;
  fc_buf headers; /* the final response's header lines, "name: value\r\n" */
  fc_buf body;
  double seconds; /* total transfer time */
  int error;      /* enum fc_http_error */
  int sent;       /* 0 only when no byte of the request was written */
  char message[256];
  fc_http_timing timing; /* set when the transfer ends, success or not */
} fc_http_response;

typedef struct fc_http fc_http;
typedef struct fc_xfer fc_xfer;

fc_http *fc_http_new(void);
/*
** Frees the pool, its connections and its idle transfers. A transfer not yet
** freed is aborted if still running and stays its owner's to free:
** fc_xfer_free may come after fc_http_free.
*/
void fc_http_free(fc_http *h);
/* Starts a transfer; NULL with *err set (FC_ENOMEM, FC_EINVAL). */
fc_xfer *fc_http_start(fc_http *h, const fc_http_request *req, void *user, int *err);
/*
** Drives every transfer for at most timeout_ms (0: don't wait) and calls
** done(x, arg) for each one that finished. Returns the number of transfers
** still running, or a negative fc error.
*/
int fc_http_poll(fc_http *h, int timeout_ms, void (*done)(fc_xfer *, void *), void *arg);
int fc_xfer_done(const fc_xfer *x);
void *fc_xfer_user(const fc_xfer *x);
fc_http_response *fc_xfer_response(fc_xfer *x);
/*
** A request is written at most once: curl would silently re-send it on a new
** connection when a reused one dies before the answer; a transfer refuses
** that (FC_HTTP_CLOSED, sent = 1) unless no byte of it had been written.
** Whether to send it again is the caller's decision.
*/
void fc_xfer_free(fc_xfer *x); /* cancels it first when still running; back to its pool */

#endif
