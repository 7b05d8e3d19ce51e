/*
** fcrun: runs Lua scripts that call Function Compute 3.0.
** Modeled on Lua's own lua.c: every chunk runs under lua_pcall with a
** message handler that turns any error value into text (calling
** __tostring on fc.Error) and appends a traceback; messages are printed
** as "fcrun: message". The exit status says what went wrong (see
** `fcrun help exit-status`; the help texts live in lua/fc/cli.lua).
*/
#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "emu.h"
#include "encode.h"
#include "preload.h"

#ifndef FCRUN_VERSION
#define FCRUN_VERSION "0.0.0"
#endif

static const char *progname = "fcrun";

enum { EXIT_SCRIPT = 1, EXIT_USAGE = 2 };

/* What the host does after parsing (the help text lives in lua/fc/cli.lua). */
enum { RUN, SHOW_HELP, SHOW_VERSION, UNKNOWN_OPTION };

typedef struct options {
  const char *endpoint, *region, *account_id, *profile, *local_dir, *code;
  const char *timeout, *trace, *cacert;
  int verbose, dry_run, quiet, stats;
  int action;          /* RUN, SHOW_HELP, ... */
  const char *unknown; /* the option that was not understood */
  int first;           /* argv index of SCRIPT or the subcommand, or the first ARG after -e */
  const char *sub;     /* the subcommand, or NULL for a script */
  char **rest;         /* the subcommand's own words (host options taken out) */
  int nrest;
} options;

/*
** The host options. They may come before a SCRIPT (the words after it are
** the script's), and before or after a subcommand, whose other words go to
** it (lua/fc/cli.lua parses those and lists both for --help).
*/
typedef struct host_option {
  const char *name, *alias;
  size_t value;   /* offsetof the string it sets, or 0 */
  size_t flag;    /* offsetof the int it sets, or 0 */
} host_option;

#define STR(f) offsetof(options, f), 0
#define FLAG(f) 0, offsetof(options, f)
static const host_option HOST_OPTIONS[] = {
    {"--endpoint", NULL, STR(endpoint)},   {"--region", NULL, STR(region)},
    {"--account-id", NULL, STR(account_id)}, {"--profile", NULL, STR(profile)},
    {"--timeout", NULL, STR(timeout)},     {"--local", NULL, STR(local_dir)},
    {"--cacert", NULL, STR(cacert)},
    {"--trace", NULL, STR(trace)},         {"--verbose", "-v", FLAG(verbose)},
    {"--dry-run", NULL, FLAG(dry_run)},    {"--quiet", "-q", FLAG(quiet)},
    {"--stats", NULL, FLAG(stats)},        {NULL, NULL, 0, 0}};
#undef STR
#undef FLAG

static const char *const SUBCOMMANDS[] = {"invoke", "task", "help", NULL};

static void l_message(const char *msg) {
  fprintf(stderr, "%s: %s\n", progname, msg);
  fflush(stderr);
}

static int usage_error(const char *fmt, const char *what) {
  fprintf(stderr, "%s: ", progname);
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\n(fcrun --help lists the options)\n");
  return EXIT_USAGE;
}

/*
** Takes argv[*i] when it is a host option ("--name VALUE", "--name=VALUE"
** or a flag); returns 1 if taken, 0 if not one, or an exit status + 2.
*/
static int take_host_option(int argc, char **argv, int *i, options *o) {
  const char *a = argv[*i];
  const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
  size_t n = eq ? (size_t)(eq - a) : strlen(a);
  for (const host_option *h = HOST_OPTIONS; h->name; h++) {
    int match = (strlen(h->name) == n && strncmp(a, h->name, n) == 0) ||
                (h->alias && !eq && strcmp(a, h->alias) == 0);
    if (!match) continue;
    if (h->flag) {
      if (eq) return usage_error("option '%s' takes no value", h->name) + 2;
      *(int *)((char *)o + h->flag) = 1;
      return 1;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v) {
      if (*i + 1 >= argc) return usage_error("option '%s' needs a value", h->name) + 2;
      v = argv[++*i];
    }
    *(const char **)((char *)o + h->value) = v;
    return 1;
  }
  return 0;
}

static int is_subcommand(const char *a) {
  for (const char *const *s = SUBCOMMANDS; *s; s++)
    if (strcmp(a, *s) == 0) return 1;
  return 0;
}

/* Parses options; returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  o->rest = calloc((size_t)argc + 1, sizeof *o->rest);
  if (!o->rest) {
    l_message("not enough memory");
    return EXIT_SCRIPT;
  }
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    int took = take_host_option(argc, argv, &i, o);
    if (took > 1) return took - 2;
    if (took) continue;
    if (o->sub) { /* a subcommand's own word, in order */
      if (strcmp(a, "--") == 0) {
        while (i < argc) o->rest[o->nrest++] = argv[i++];
        break;
      }
      o->rest[o->nrest++] = argv[i];
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      o->action = SHOW_HELP;
      return -1;
    } else if (strcmp(a, "--version") == 0) {
      o->action = SHOW_VERSION;
      return -1;
    } else if (strcmp(a, "--") == 0) {
      i++;
      break;
    } else if (strcmp(a, "-e") == 0) {
      if (i + 1 >= argc) return usage_error("option '%s' needs a value", a);
      o->code = argv[++i];
      i++;
      break;
    } else if (a[0] == '-' && a[1] != '\0') {
      o->action = UNKNOWN_OPTION;
      o->unknown = a;
      return -1;
    } else if (is_subcommand(a)) {
      o->sub = a;
      o->first = i;
    } else {
      break; /* SCRIPT: the words after it are its own */
    }
  }
  if (!o->sub) o->first = i;
  if (!o->sub && !o->code && i >= argc) return usage_error("%s", "no SCRIPT given");
  if (o->timeout) {
    char *end;
    double t = strtod(o->timeout, &end);
    if (end == o->timeout || *end || !(t > 0 && t <= 604800))
      return usage_error("--timeout '%s' must be a number of seconds above 0 and at most 604800",
                         o->timeout);
  }
  return -1;
}

/*
** Pushes "file:line: " of the innermost frame in the user's code (not in
** fc's own Lua files, not in C), so that an fc.Error names the script line
** that made the failing call. Pushes "" when there is none.
*/
static void push_user_where(lua_State *L) {
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
    if (strncmp(ar.source, "@fc/", 4) == 0 || ar.source[0] == '=') continue;
    lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
    return;
  }
  lua_pushliteral(L, "");
}

/* Keeps the original error value for the exit status, returns the text. */
static int msghandler(lua_State *L) {
  lua_pushvalue(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, "fcrun.error");
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
      push_user_where(L);
      lua_insert(L, -2);
      lua_concat(L, 2);
      msg = lua_tostring(L, -1);
    } else {
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* The exit status for the error kept by msghandler (fc.cli.exit_code). */
static int error_status(lua_State *L) {
  int status = EXIT_SCRIPT;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "fc.cli");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
    lua_getfield(L, -1, "exit_code");
    lua_getfield(L, LUA_REGISTRYINDEX, "fcrun.error");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_isinteger(L, -1))
      status = (int)lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  return status;
}

/* Calls the function on top with narg arguments below it; reports errors. */
static int docall(lua_State *L, int narg, int nres, int traceback) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int rc = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  if (rc == LUA_OK) return 0;
  const char *msg = lua_tostring(L, -1);
  if (!traceback) { /* the first line only: the user wrote no code */
    const char *nl = strstr(msg, "\nstack traceback:");
    lua_pushlstring(L, msg, nl ? (size_t)(nl - msg) : strlen(msg));
    msg = lua_tostring(L, -1);
  }
  l_message(msg);
  lua_settop(L, base - 1);
  return error_status(L);
}

static int dostring(lua_State *L, const char *s, size_t n, const char *name) {
  if (luaL_loadbufferx(L, s, n, name, "t") != LUA_OK) {
    l_message(lua_tostring(L, -1));
    return EXIT_SCRIPT;
  }
  return docall(L, 0, 0, 1);
}

/* fc.configure{...} with the host's flags (nil where not given). */
static int configure(lua_State *L, const options *o, const char *endpoint, const char *akid,
                     const char *secret) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "fc");
  int rc = docall(L, 1, 1, 0);
  if (rc) return rc;
  lua_getfield(L, -1, "configure");
  lua_remove(L, -2);
  lua_newtable(L);
#define FIELD(name, val) if (val) { lua_pushstring(L, val); lua_setfield(L, -2, name); }
  FIELD("endpoint", endpoint);
  FIELD("region", o->region);
  FIELD("account_id", o->account_id);
  FIELD("profile", o->profile);
  FIELD("access_key_id", akid);
  FIELD("access_key_secret", secret);
  FIELD("ca_file", o->cacert);
#undef FIELD
  if (o->timeout) { lua_pushnumber(L, strtod(o->timeout, NULL)); lua_setfield(L, -2, "timeout"); }
  if (o->verbose) { lua_pushboolean(L, 1); lua_setfield(L, -2, "verbose"); }
  if (o->dry_run) { lua_pushboolean(L, 1); lua_setfield(L, -2, "dry_run"); }
  return docall(L, 1, 0, 0);
}

/* Sets the global arg as lua.c does: arg[0] the script, arg[1..] its args. */
static void create_arg(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int push_args(lua_State *L, char **argv, int argc, int first) {
  luaL_checkstack(L, argc - first + 3, "too many arguments to script");
  for (int i = first; i < argc; i++) lua_pushstring(L, argv[i]);
  return argc - first;
}

/*
** Runs every spawned task to its end; reports the failures nobody waited
** for (the first three in full) and tasks that can never finish.
*/
static int drain(lua_State *L) {
  static const char code[] = "return require('fc.sched').report(io.stderr)";
  if (luaL_loadbufferx(L, code, sizeof code - 1, "=drain", "t") != LUA_OK) return EXIT_SCRIPT;
  int rc = docall(L, 0, 1, 1);
  if (rc) return rc;
  int problems = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return problems ? EXIT_SCRIPT : 0;
}

/* Pushes the function `name` of fc.cli; returns 0, or an exit status. */
static int push_cli(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "fc.cli");
  int rc = docall(L, 1, 1, 0);
  if (rc) return rc;
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  return 0;
}

/* Calls fc.cli's `name` with one string argument (or none); returns its
** integer result (default 0), or an exit status for an error. */
static int call_cli(lua_State *L, const char *name, const char *arg) {
  int rc = push_cli(L, name);
  if (rc) return rc;
  if (arg) lua_pushstring(L, arg);
  if ((rc = docall(L, arg ? 1 : 0, 1, 0))) return rc;
  rc = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return rc;
}

/* fc.cli.setup{quiet, dry_run, stats, trace}: the run-wide switches. */
static int setup(lua_State *L, const options *o) {
  int rc = push_cli(L, "setup");
  if (rc) return rc;
  lua_createtable(L, 0, 4);
  lua_pushboolean(L, o->quiet);
  lua_setfield(L, -2, "quiet");
  lua_pushboolean(L, o->dry_run);
  lua_setfield(L, -2, "dry_run");
  lua_pushboolean(L, o->stats);
  lua_setfield(L, -2, "stats");
  if (o->trace) { lua_pushstring(L, o->trace); lua_setfield(L, -2, "trace"); }
  return docall(L, 1, 0, 0);
}

static int run(lua_State *L, const options *o, int argc, char **argv) {
  int rc;
  if (o->code) {
    create_arg(L, argv, argc, o->first - 1);
    rc = dostring(L, o->code, strlen(o->code), "=(command line)");
  } else if (o->sub) {
    if ((rc = push_cli(L, "main"))) return rc;
    lua_pushstring(L, o->sub);
    lua_createtable(L, o->nrest, 0);
    for (int i = 0; i < o->nrest; i++) {
      lua_pushstring(L, o->rest[i]);
      lua_rawseti(L, -2, i + 1);
    }
    rc = docall(L, 2, 1, 0);
    if (rc == 0) {
      rc = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
  } else {
    const char *script = argv[o->first];
    create_arg(L, argv, argc, o->first);
    int is_stdin = strcmp(script, "-") == 0;
    int lrc = luaL_loadfilex(L, is_stdin ? NULL : script, "t");
    if (lrc != LUA_OK) {
      l_message(lua_tostring(L, -1));
      if (lrc == LUA_ERRFILE && !is_stdin && push_cli(L, "script_hint") == 0) {
        lua_pushstring(L, script); /* "did you mean 'fcrun invoke'?" */
        if (docall(L, 1, 1, 0) == 0 && *lua_tostring(L, -1))
          fprintf(stderr, "%s: %s is not a file%s\n", progname, script, lua_tostring(L, -1));
      }
      return EXIT_SCRIPT;
    }
    int n = push_args(L, argv, argc, o->first + 1);
    rc = docall(L, n, 0, 1);
  }
  int drained = drain(L);
  return rc ? rc : drained;
}

static lua_State *new_state(void) {
  lua_State *L = luaL_newstate();
  if (!L) {
    l_message("cannot create a Lua state: not enough memory");
    return NULL;
  }
  luaL_openlibs(L);
  fc_preload(L);
  return L;
}

/* A fresh random key pair for an in-process emulator: hex of 16/32 bytes. */
static int random_keys(char id[40], char secret[70]) {
  unsigned char b[32];
  if (fc_random(b, 16)) return -1;
  memcpy(id, "LTAIlocal", 9);
  fc_hex(id + 9, b, 12);
  if (fc_random(b, 32)) return -1;
  fc_hex(secret, b, 32);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "serve") == 0) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return EXIT_SCRIPT;
    int rc = fc_serve_main(argc - 1, argv + 1);
    curl_global_cleanup();
    return rc;
  }
  options o;
  int rc = parse_args(argc, argv, &o);
  if (rc < 0 && o.action == SHOW_VERSION) {
    printf("fcrun %s (%s, FC API 2023-03-30)\n", FCRUN_VERSION, LUA_RELEASE);
    rc = 0;
  } else if (rc < 0 && o.action != RUN) { /* help texts and suggestions are fc.cli's */
    lua_State *L = new_state();
    rc = !L ? EXIT_SCRIPT
         : o.action == SHOW_HELP ? call_cli(L, "help", NULL)
                                 : call_cli(L, "unknown_option", o.unknown);
    if (L) lua_close(L);
  }
  if (rc >= 0) {
    free(o.rest);
    return rc;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    l_message("cannot initialise libcurl");
    free(o.rest);
    return EXIT_SCRIPT;
  }
  fc_emu *emu = NULL;
  char endpoint[64], id[40] = "", secret[70] = "";
  const char *ep = o.endpoint;
  if (o.local_dir) {
    char err[512];
    if (random_keys(id, secret)) {
      l_message("cannot get random bytes for the emulator's keys");
      curl_global_cleanup();
      free(o.rest);
      return EXIT_SCRIPT;
    }
    /* not verbose: -v prints each request once, on the client's side */
    fc_emu_config cfg = {o.local_dir, "127.0.0.1", 0, id, secret, NULL, 0, 0};
    if (fc_emu_start(&emu, &cfg, err, sizeof err)) {
      l_message(err);
      curl_global_cleanup();
      free(o.rest);
      return EXIT_USAGE;
    }
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%u", (unsigned)fc_emu_port(emu));
    ep = endpoint;
  }
  lua_State *L = new_state();
  if (!L) {
    rc = EXIT_SCRIPT;
  } else {
    rc = configure(L, &o, ep, emu ? id : NULL, emu ? secret : NULL);
    if (rc == 0) rc = setup(L, &o);
    if (rc == 0) rc = run(L, &o, argc, argv);
    int at_exit = call_cli(L, "at_exit", NULL);
    if (rc == 0) rc = at_exit;
    lua_close(L);
  }
  if (emu) fc_emu_stop(emu);
  curl_global_cleanup();
  free(o.rest);
  return rc;
}
