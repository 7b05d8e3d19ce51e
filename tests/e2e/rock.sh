#!/usr/bin/env bash
# rock.sh FCRUN SRC: `luarocks make rockspecs/fcrun-scm-1.rockspec` on a copy
# of the source tree into a temporary tree; then stock lua5.4, with the
# tree's `luarocks path`, requires fc and invokes a function on the emulator.
FCRUN=$1
SRC=$2
. "$(dirname "$0")/lib.sh"

if ! command -v luarocks >/dev/null; then
  fail "luarocks is installed" "install it: third_party/install.sh (Debian package luarocks)"; finish; exit
fi
# A copy, so the build (build.luarocks/) never lands in the source tree.
mkdir -p "$WORK/src"
(cd "$SRC" && tar --exclude=./build --exclude=./build.luarocks --exclude=./tests/interop/node_modules \
  --exclude=./.git -cf - .) | tar -C "$WORK/src" -xf -
tree="$WORK/tree"
# A plain build: the sanitizers' runtimes are not ours to load into lua5.4.
if (cd "$WORK/src" && env -u CFLAGS -u LDFLAGS timeout 600 luarocks --lua-version 5.4 make \
      rockspecs/fcrun-scm-1.rockspec --tree "$tree") >"$WORK/rock.log" 2>&1; then
  ok "luarocks make installs the rock"
else
  fail "luarocks make installs the rock" "$(tail -n 30 "$WORK/rock.log")"; finish; exit
fi
[ -f "$tree/lib/lua/5.4/fc/core.so" ] && ok "fc/core.so in the tree's lib/lua/5.4" || fail "fc/core.so in the tree" "$(find "$tree")"
[ -f "$tree/share/lua/5.4/fc/init.lua" ] && ok "fc/*.lua in the tree's share/lua/5.4" || fail "fc/init.lua in the tree" "$(find "$tree")"
out=$("$tree/bin/fcrun" --version 2>&1)
expect_in "the rock's fcrun runs" "$out" "fcrun "

start_emulator "$SRC/tests/e2e/functions"
paths=$(luarocks --lua-version 5.4 --tree "$tree" path)
out=$(cd "$WORK" && eval "$paths" && \
  ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  timeout 60 lua5.4 -e "
    local fc = require 'fc'
    assert(package.searchpath('fc.core', package.cpath):find('$tree', 1, true))
    fc.configure{endpoint = '$ENDPOINT'}
    print(fc.invoke('echo', 'from the rock').body)
    print(fc.wait(fc.spawn(fc.invoke, 'echo', 'in a task')).body)" 2>&1)
expect_eq "lua5.4 with luarocks path requires fc from the tree and invokes" "$out" "from the rock
in a task"

# fc.run gives stock lua5.4 fcrun's behaviour: tasks run to their end,
# errors and lost task failures reported, fcrun's exit statuses.
cat >"$WORK/run.lua" <<'LUA'
local fc = require "fc"
local which = arg[1]
os.exit(fc.run(function(greeting)
  if which == "tasks" then
    fc.spawn(function() fc.sleep(0.2) print("the task ran to its end") end)
    print(greeting)
  elseif which == "config" then
    fc.client{endpoint = "http://127.0.0.1:9", profile = "nobody"}:invoke("echo")
  elseif which == "lost" then
    fc.spawn(function() error("a lost failure") end)
  elseif which == "service" then
    fc.configure{endpoint = os.getenv("EP")}
    fc.invoke("no-such-function")
  end
end, "main ran"))
LUA
lua() { (cd "$WORK" && eval "$paths" && env -u ALIBABA_CLOUD_ACCESS_KEY_ID -u ALIBABA_CLOUD_ACCESS_KEY_SECRET \
  HOME="$WORK" FCRUN_ECS_METADATA_ENDPOINT=http://127.0.0.1:9 "$@" timeout 60 lua5.4 "$WORK/run.lua" "$which" 2>&1); }
which=tasks; out=$(lua); rc=$?
expect_eq "fc.run: main's arguments, and tasks run to their end" "$out" "main ran
the task ran to its end"
expect_eq "fc.run: status 0" "$rc" "0"
which=config; out=$(lua); rc=$?
expect_in "fc.run: an error is printed with the script's name" "$out" "$WORK/run.lua: no credentials found"
expect_in "fc.run: with a traceback" "$out" "stack traceback:"
expect_eq "fc.run: a configuration error is status 6" "$rc" "6"
which=lost; out=$(lua); rc=$?
expect_in "fc.run: a lost task failure is reported" "$out" "failed and nobody waited for it"
expect_eq "fc.run: a lost task failure is status 1" "$rc" "1"
which=service; out=$(lua ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  EP="$ENDPOINT"); rc=$?
expect_in "fc.run: an fc.Error reads as under fcrun" "$out" "FunctionNotFound (HTTP 404)"
expect_eq "fc.run: a service error is status 4" "$rc" "4"
finish
