/*
** emu.h: the local Function Compute 3.0 emulator.
** A libmicrohttpd server that answers like FC 3.0 (API 2023-03-30) on the
** wire: ACS3 signature checks, InvokeFunction (sync and async), the async
** task API, ListFunctions and GetFunction, with functions written in Lua
** (DIR/NAME.lua). See docs/EMULATOR.md for the function format.
*/
#ifndef FC_EMU_H
#define FC_EMU_H

#include <stddef.h>

typedef struct fc_emu_config {
  const char *functions_dir;     /* DIR with NAME.lua files */
  const char *host;              /* bind address, default "127.0.0.1"; "::1" works too */
  unsigned short port;           /* 0: ephemeral */
  const char *access_key_id, *access_key_secret; /* required */
  const char *security_token;    /* NULL: no STS token required */
  int verbose;                   /* access log lines on stderr */
  unsigned max_connections;      /* 0: 1000; past it, 503 ResourceThrottled */
} fc_emu_config;

typedef struct fc_emu fc_emu;

/* 0, or -1 with a message naming the problem and the fix in err. */
int fc_emu_start(fc_emu **out, const fc_emu_config *cfg, char *err, size_t errlen);
unsigned short fc_emu_port(const fc_emu *e);
/* Stops the server, waits for the workers, frees everything. */
void fc_emu_stop(fc_emu *e);
/* `fcrun serve ...`; argv[0] is "serve"; returns the exit code. */
int fc_serve_main(int argc, char **argv);

#endif
