/*
** serve.c: `fcrun serve`, the emulator as a foreground server. Options and
** environment give the keys; without any it makes a pair, but prints the
** secret only to a terminal. SIGINT and SIGTERM are taken with sigwait in
** the main thread (blocked everywhere else), so no handler or global is
** needed, and the server stops cleanly: it stops accepting, gives running
** calls a grace period, stops the rest, and exits within STOP_SECONDS.
*/
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "emu.h"

static const char usage[] =
    "usage: fcrun serve --functions DIR [--host ADDR] [--port N]\n"
    "                   [--access-key-id ID --access-key-secret SECRET]\n"
    "                   [--security-token TOKEN] [--max-connections N] [-v]\n"
    "\n"
    "Serves the Lua functions DIR/NAME.lua as a local Function Compute 3.0\n"
    "(API 2023-03-30). Binds 127.0.0.1 port 9000 unless told otherwise\n"
    "(--port 0: any free port). Keys come from the options, else from\n"
    "ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN; with neither,\n"
    "a random pair is made and shown when stderr is a terminal.\n"
    "  --max-connections N  connections served at once (default 1000); past\n"
    "                  it, requests get 503 ResourceThrottled\n"
    "  -v, --verbose   one access log line per request on stderr\n"
    "\n"
    "example:\n"
    "  fcrun serve --functions scripts/functions --port 9000\n";

/* Random printable key material: n characters of [A-Za-z0-9]. */
static int random_text(char *out, size_t n) {
  return fc_random_text(out, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

/* Takes the value of an option given as "--opt VALUE" or "--opt=VALUE". */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **out) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return 0;
  if (argv[*i][n] == '=') {
    *out = argv[*i] + n + 1;
    return 1;
  }
  if (argv[*i][n] != '\0') return 0;
  if (*i + 1 >= argc) {
    fprintf(stderr, "fcrun serve: %s needs a value\n%s", name, usage);
    exit(2);
  }
  *out = argv[++*i];
  return 1;
}

/* A stop never takes longer than STOP_SECONDS, whatever a function does:
** past it the process ends without waiting for the rest. */
#define STOP_SECONDS 4.5
static void *watchdog(void *arg) {
  (void)arg;
  struct timespec d = {(time_t)STOP_SECONDS, (long)((STOP_SECONDS - (int)STOP_SECONDS) * 1e9)};
  while (nanosleep(&d, &d) != 0) {
  }
  fprintf(stderr, "fcrun serve: stopped without waiting for the rest (%.1f s after the signal)\n",
          STOP_SECONDS);
  _exit(0);
  return NULL;
}

int fc_serve_main(int argc, char **argv) {
  fc_emu_config cfg = {0};
  const char *port = NULL, *maxconn = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      cfg.verbose = 1;
      continue;
    }
    if (opt_value(argc, argv, &i, "--functions", &cfg.functions_dir) ||
        opt_value(argc, argv, &i, "--host", &cfg.host) ||
        opt_value(argc, argv, &i, "--port", &port) ||
        opt_value(argc, argv, &i, "--max-connections", &maxconn) ||
        opt_value(argc, argv, &i, "--access-key-id", &cfg.access_key_id) ||
        opt_value(argc, argv, &i, "--access-key-secret", &cfg.access_key_secret) ||
        opt_value(argc, argv, &i, "--security-token", &cfg.security_token))
      continue;
    fprintf(stderr, "fcrun serve: unknown argument '%s'\n%s", a, usage);
    return 2;
  }
  if (!cfg.functions_dir) {
    fprintf(stderr, "fcrun serve: --functions DIR is required (a directory of NAME.lua files)\n%s",
            usage);
    return 2;
  }
  cfg.port = 9000;
  if (port) {
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535) {
      fprintf(stderr, "fcrun serve: --port must be a number from 0 to 65535, not '%s'\n", port);
      return 2;
    }
    cfg.port = (unsigned short)p;
  }
  if (maxconn) {
    char *end;
    long n = strtol(maxconn, &end, 10);
    if (!*maxconn || *end || n < 1 || n > 100000) {
      fprintf(stderr, "fcrun serve: --max-connections must be a number from 1 to 100000, not "
                      "'%s'\n", maxconn);
      return 2;
    }
    cfg.max_connections = (unsigned)n;
  }
  const char *const given[][2] = {{"--access-key-id", cfg.access_key_id},
                                  {"--access-key-secret", cfg.access_key_secret},
                                  {"--security-token", cfg.security_token}};
  for (size_t k = 0; k < sizeof given / sizeof given[0]; k++) {
    if (given[k][1] && !*given[k][1]) {
      fprintf(stderr, "fcrun serve: %s is empty; give a value, or leave the option out\n",
              given[k][0]);
      return 2;
    }
  }
  if (!cfg.access_key_id && !cfg.access_key_secret) {
    cfg.access_key_id = env("ALIBABA_CLOUD_ACCESS_KEY_ID");
    cfg.access_key_secret = env("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
  }
  if (!cfg.security_token) cfg.security_token = env("ALIBABA_CLOUD_SECURITY_TOKEN");
  if ((cfg.access_key_id == NULL) != (cfg.access_key_secret == NULL)) {
    fprintf(stderr, "fcrun serve: give both --access-key-id and --access-key-secret (or "
                    "both ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET)\n");
    return 2;
  }
  char gen_id[32], gen_secret[40];
  int generated = 0;
  if (!cfg.access_key_id) {
    if (!isatty(STDERR_FILENO)) {
      fprintf(stderr, "fcrun serve: no AccessKey given, and stderr is not a terminal to show a "
                      "generated one; pass --access-key-id ID --access-key-secret SECRET (or set "
                      "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET)\n");
      return 2;
    }
    memcpy(gen_id, "LTAIemu", 7);
    if (random_text(gen_id + 7, 17) || random_text(gen_secret, 30)) {
      fprintf(stderr, "fcrun serve: cannot read random bytes for a key pair\n");
      return 1;
    }
    cfg.access_key_id = gen_id;
    cfg.access_key_secret = gen_secret;
    generated = 1;
  }

  /* Every thread the emulator starts inherits this mask; only sigwait below
  ** receives the signals. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  fc_emu *e;
  char err[512];
  if (fc_emu_start(&e, &cfg, err, sizeof err) != 0) {
    fprintf(stderr, "fcrun serve: %s\n", err);
    return 1;
  }
  const char *host = cfg.host && *cfg.host ? cfg.host : "127.0.0.1";
  int v6 = strchr(host, ':') != NULL;
  if (generated) {
    fprintf(stderr, "fcrun serve: generated an AccessKey pair for this run:\n"
                    "export ALIBABA_CLOUD_ACCESS_KEY_ID=%s\n"
                    "export ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s\n",
            gen_id, gen_secret);
  }
  printf("fcrun serve: listening on http://%s%s%s:%u\n", v6 ? "[" : "", host, v6 ? "]" : "",
         (unsigned)fc_emu_port(e));
  fflush(stdout);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  if (cfg.verbose) fprintf(stderr, "fcrun serve: stopping (signal %d)\n", sig);
  pthread_t dog;
  if (pthread_create(&dog, NULL, watchdog, NULL) == 0) pthread_detach(dog);
  fc_emu_stop(e);
  memset(gen_secret, 0, sizeof gen_secret);
  return 0;
}
