#!/usr/bin/env bash
# deb.sh BUILD SRC: `cpack -G DEB` in the build directory; dpkg-deb shows the
# package's fields, its Debian runtime dependencies and its files (the
# binary, fc/core.so and every fc/*.lua, where Debian's lua5.4 looks; the man
# page and bash completion when the source tree has them); the unpacked
# package runs: fcrun, and stock lua5.4 invoking through fc.
BUILD=$1
SRC=$2
FCRUN=unused
. "$(dirname "$0")/lib.sh"

if (cd "$BUILD" && timeout 600 cpack -G DEB -B "$WORK/pkg") >"$WORK/cpack.log" 2>&1; then ok "cpack -G DEB"
else fail "cpack -G DEB" "$(tail -n 30 "$WORK/cpack.log")"; finish; exit; fi
deb=$(ls "$WORK"/pkg/fcrun_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] && ok "the package is named fcrun_VERSION_ARCH.deb" || { fail "a .deb was made" "$(ls "$WORK/pkg")"; finish; exit; }

version=$(sed -n 's/^project(fcrun VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
expect_eq "Package" "$(dpkg-deb -f "$deb" Package)" "fcrun"
expect_eq "Version is the project's" "$(dpkg-deb -f "$deb" Version)" "$version"
expect_eq "Architecture is the machine's" "$(dpkg-deb -f "$deb" Architecture)" "$(dpkg --print-architecture)"
depends=$(dpkg-deb -f "$deb" Depends)
for p in libc6 libcurl4 liblua5.4-0 libmbedcrypto7 libmicrohttpd12 lua-cjson; do
  expect_in "Depends on the runtime package $p" "$depends" "$p ("
done
expect_not_in "no -dev package among the dependencies" "$depends" "-dev"
expect_eq "Recommends lua5.4" "$(dpkg-deb -f "$deb" Recommends)" "lua5.4"

files=$(dpkg-deb -c "$deb" | awk '{print $6}')
expect_in "the binary" "$files" "./usr/bin/fcrun"
core=$(grep -o '^\./usr/lib/.*lua/5\.4/fc/core\.so$' <<<"$files")
[ -n "$core" ] && ok "fc/core.so" || fail "fc/core.so" "$files"
rel=${core#.}
expect_in "fc/core.so is where Debian's lua5.4 looks" "$(lua5.4 -e 'print(package.cpath)')" "${rel%fc/core.so}?.so"
expect_in "fc/*.lua are where Debian's lua5.4 looks" "$(lua5.4 -e 'print(package.path)')" "/usr/share/lua/5.4/?/init.lua"
for f in "$SRC"/lua/fc/*.lua; do
  expect_in "fc/$(basename "$f")" "$files" "./usr/share/lua/5.4/fc/$(basename "$f")"
done
if [ -f "$SRC/docs/fcrun.1" ]; then expect_in "the man page" "$files" "./usr/share/man/man1/fcrun.1"
else echo "skip the man page: docs/fcrun.1 is not in this tree"; fi
if [ -f "$SRC/docs/fcrun.bash-completion" ]; then
  expect_in "the bash completion" "$files" "./usr/share/bash-completion/completions/fcrun"
else echo "skip the bash completion: docs/fcrun.bash-completion is not in this tree"; fi

# Unpacked: the binary runs, and stock lua5.4 invokes through the packaged fc.
root="$WORK/root"
dpkg-deb -x "$deb" "$root"
expect_in "the packaged fcrun runs" "$("$root/usr/bin/fcrun" --version 2>&1)" "fcrun $version"
FCRUN="$root/usr/bin/fcrun"
start_emulator "$SRC/tests/e2e/functions"
out=$(cd "$WORK" && LUA_PATH="$root/usr/share/lua/5.4/?.lua;$root/usr/share/lua/5.4/?/init.lua;;" \
  LUA_CPATH="$root${rel%fc/core.so}?.so;;" \
  ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  timeout 60 lua5.4 -e "
    local fc = require 'fc'
    assert(package.searchpath('fc.core', package.cpath):find('$root', 1, true))
    fc.configure{endpoint = '$ENDPOINT'}
    print(fc.invoke('echo', 'from the package').body)" 2>&1)
expect_eq "stock lua5.4 invokes through the packaged fc" "$out" "from the package"
finish
