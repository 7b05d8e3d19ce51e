#!/usr/bin/env bash
# install.sh BUILD SRC: `cmake --install` into a fresh prefix; then fcrun
# runs from the PATH, and stock lua5.4 finds fc (fc/core.so + fc/*.lua)
# and invokes a function through it.
BUILD=$1
SRC=$2
FCRUN=unused
. "$(dirname "$0")/lib.sh"
prefix="$WORK/prefix"

if cmake --install "$BUILD" --prefix "$prefix" >"$WORK/install.log" 2>&1; then ok "cmake --install"
else fail "cmake --install" "$(cat "$WORK/install.log")"; finish; exit; fi

FCRUN="$prefix/bin/fcrun"
out=$(PATH="$prefix/bin:$PATH" fcrun --version)
expect_in "fcrun runs from the PATH" "$out" "fcrun "
core=$(find "$prefix" -path '*/lua/5.4/fc/core.so' | head -n 1)
init=$(find "$prefix" -path '*/lua/5.4/fc/init.lua' | head -n 1)
[ -n "$core" ] && ok "fc/core.so installed" || fail "fc/core.so installed" "$(find "$prefix")"
[ -n "$init" ] && ok "fc/init.lua installed" || fail "fc/init.lua installed" "$(find "$prefix")"

# With the default prefix (/usr/local) these are on stock lua5.4's own paths.
rel_init=${init#"$prefix"/}
rel_core=${core#"$prefix"/}
paths=$(lua5.4 -e 'print(package.path .. ";" .. package.cpath)')
expect_in "fc/init.lua lands where lua5.4 looks by default" "$paths" "/usr/local/${rel_init%fc/init.lua}?/init.lua"
expect_in "fc/core.so lands where lua5.4 looks by default" "$paths" "/usr/local/${rel_core%fc/core.so}?.so"

# Under the sanitizers the module needs their runtimes loaded first.
preload=""
if nm -D "$core" 2>/dev/null | grep -q __asan_init; then
  preload="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
fi
start_emulator "$SRC/tests/e2e/functions"
out=$(cd "$WORK" && LD_PRELOAD=$preload ASAN_OPTIONS=detect_leaks=0 \
  LUA_PATH="$(dirname "$(dirname "$init")")/?.lua;$(dirname "$(dirname "$init")")/?/init.lua;;" \
  LUA_CPATH="$(dirname "$(dirname "$core")")/?.so;;" \
  ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  timeout 60 lua5.4 -e "
    local fc = require 'fc'
    fc.configure{endpoint = '$ENDPOINT'}
    local r = fc.invoke('echo', 'from stock lua', {log = true})
    print(r.body, r.ok, r.log:match('FC Invoke Start') ~= nil)
    local t = fc.spawn(fc.invoke, 'echo', 'in a task')
    print(fc.wait(t).body)" 2>&1)
expect_eq "stock lua5.4 requires fc and invokes" "$out" "from stock lua	true	true
in a task"
finish
