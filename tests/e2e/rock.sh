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
finish
