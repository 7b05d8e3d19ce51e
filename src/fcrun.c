/*
** fcrun: runs Lua scripts that call Function Compute 3.0.
** Modeled on Lua's own lua.c: every chunk runs under lua_pcall with a
** message handler that turns any error value into text (calling
** __tostring on fc.Error) and appends a traceback; messages are printed
** as "fcrun: message". The exit status says what went wrong (see USAGE).
*/
#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
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

static const char USAGE[] =
    "usage: fcrun [options] SCRIPT [ARGS...]   run a Lua script ('-' reads stdin)\n"
    "       fcrun [options] -e CODE [ARGS...]  run CODE\n"
    "       fcrun [options] invoke NAME [--qualifier Q] [--async] [--task-id ID]\n"
    "                 [--log] [--payload TEXT | --payload-file FILE | --payload-file -]\n"
    "       fcrun serve --functions DIR [--host ADDR] [--port N] [--access-key-id ID\n"
    "                 --access-key-secret SECRET] [--security-token TOKEN] [-v]\n"
    "       fcrun --version | --help\n"
    "\n"
    "options:\n"
    "  --endpoint URL      FC endpoint (default https://ACCOUNT.REGION.fc.aliyuncs.com)\n"
    "  --region REGION     region id (default $ALIBABA_CLOUD_REGION_ID)\n"
    "  --account-id ID     account id (default $ALIBABA_CLOUD_ACCOUNT_ID, $FC_ACCOUNT_ID)\n"
    "  --profile NAME      credentials profile (~/.aliyun/config.json, ~/.alibabacloud/credentials)\n"
    "  --timeout SECONDS   default timeout of each request (default 60)\n"
    "  --local DIR         run against an emulator of DIR's functions, started in-process\n"
    "  -v, --verbose       each request's method, path, status, request id and time on stderr\n"
    "  --dry-run           print each signed request (secrets redacted) instead of sending it\n"
    "\n"
    "exit status: 0 success, 1 script error, 2 bad usage or invalid argument,\n"
    "  3 function error, 4 service error (HTTP >= 400), 5 transport error, 6 configuration\n"
    "\n"
    "examples:\n"
    "  fcrun --local scripts/functions scripts/hello.lua\n"
    "  fcrun -e 'print(require(\"fc\").invoke(\"hello\", \"hi\").body)'\n"
    "  fcrun invoke my-func --qualifier prod --log --payload '{\"key\":\"value\"}'\n"
    "  echo '{}' | fcrun invoke my-func --payload-file -\n"
    "  fcrun serve --functions scripts/functions --port 9000\n";

enum { EXIT_SCRIPT = 1, EXIT_USAGE = 2 };

typedef struct options {
  const char *endpoint, *region, *account_id, *profile, *local_dir, *code;
  const char *timeout;
  int verbose, dry_run;
  int first; /* argv index of SCRIPT, "invoke" or the first ARG after -e */
} options;

static void l_message(const char *msg) {
  fprintf(stderr, "%s: %s\n", progname, msg);
  fflush(stderr);
}

static int usage_error(const char *fmt, const char *what) {
  fprintf(stderr, "%s: ", progname);
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\n%s", USAGE);
  return EXIT_USAGE;
}

/* Parses options; returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(USAGE, stdout);
      return 0;
    } else if (strcmp(a, "--version") == 0) {
      printf("fcrun %s (%s, FC API 2023-03-30)\n", FCRUN_VERSION, LUA_RELEASE);
      return 0;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      o->verbose = 1;
      continue;
    } else if (strcmp(a, "--dry-run") == 0) {
      o->dry_run = 1;
      continue;
    } else if (strcmp(a, "--") == 0) {
      i++;
      break;
    } else if (strcmp(a, "--endpoint") == 0) slot = &o->endpoint;
    else if (strcmp(a, "--region") == 0) slot = &o->region;
    else if (strcmp(a, "--account-id") == 0) slot = &o->account_id;
    else if (strcmp(a, "--profile") == 0) slot = &o->profile;
    else if (strcmp(a, "--timeout") == 0) slot = &o->timeout;
    else if (strcmp(a, "--local") == 0) slot = &o->local_dir;
    else if (strcmp(a, "-e") == 0) slot = &o->code;
    else if (a[0] == '-' && a[1] != '\0') return usage_error("unknown option '%s'", a);
    else break;
    if (i + 1 >= argc) return usage_error("option '%s' needs a value", a);
    *slot = argv[++i];
    if (slot == &o->code) { i++; break; }
  }
  o->first = i;
  if (!o->code && i >= argc) return usage_error("%s", "no SCRIPT given");
  if (o->timeout) {
    char *end;
    double t = strtod(o->timeout, &end);
    if (*end || !(t > 0)) return usage_error("--timeout '%s' must be a positive number of seconds", o->timeout);
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

static int run(lua_State *L, const options *o, int argc, char **argv) {
  int rc;
  if (o->code) {
    create_arg(L, argv, argc, o->first - 1);
    rc = dostring(L, o->code, strlen(o->code), "=(command line)");
  } else if (strcmp(argv[o->first], "invoke") == 0) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "fc.cli");
    if ((rc = docall(L, 1, 1, 0))) return rc;
    lua_getfield(L, -1, "invoke");
    lua_createtable(L, argc - o->first - 1, 0);
    for (int i = o->first + 1; i < argc; i++) {
      lua_pushstring(L, argv[i]);
      lua_rawseti(L, -2, i - o->first);
    }
    if ((rc = docall(L, 1, 1, 0))) return rc;
    return (int)lua_tointeger(L, -1);
  } else {
    const char *script = argv[o->first];
    create_arg(L, argv, argc, o->first);
    int is_stdin = strcmp(script, "-") == 0;
    if (luaL_loadfilex(L, is_stdin ? NULL : script, "t") != LUA_OK) {
      l_message(lua_tostring(L, -1));
      return EXIT_SCRIPT;
    }
    int n = push_args(L, argv, argc, o->first + 1);
    rc = docall(L, n, 0, 1);
  }
  int drained = drain(L);
  return rc ? rc : drained;
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
  if (rc >= 0) return rc;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    l_message("cannot initialise libcurl");
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
      return EXIT_SCRIPT;
    }
    fc_emu_config cfg = {o.local_dir, "127.0.0.1", 0, id, secret, NULL, o.verbose, 0};
    if (fc_emu_start(&emu, &cfg, err, sizeof err)) {
      l_message(err);
      curl_global_cleanup();
      return EXIT_USAGE;
    }
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%u", (unsigned)fc_emu_port(emu));
    ep = endpoint;
  }
  lua_State *L = luaL_newstate();
  if (!L) {
    l_message("cannot create a Lua state: not enough memory");
    rc = EXIT_SCRIPT;
  } else {
    luaL_openlibs(L);
    fc_preload(L);
    rc = configure(L, &o, ep, emu ? id : NULL, emu ? secret : NULL);
    if (rc == 0) rc = run(L, &o, argc, argv);
    lua_close(L);
  }
  if (emu) fc_emu_stop(emu);
  curl_global_cleanup();
  return rc;
}
