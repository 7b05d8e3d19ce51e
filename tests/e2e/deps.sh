#!/usr/bin/env bash
# deps.sh SRC: third_party/install.sh in both modes, with apt-get, dpkg-query
# and sudo replaced on the PATH by stand-ins that record what would be
# installed (nothing is installed). The default mode installs the build and
# test packages only; --bench adds the benchmark section.
SRC=$1
FCRUN=unused
. "$(dirname "$0")/lib.sh"

bin="$WORK/bin"
mkdir -p "$bin"
cat >"$bin/dpkg-query" <<'SH'
#!/bin/sh
exit 1
SH
cat >"$bin/apt-get" <<'SH'
#!/bin/sh
[ "$1" = update ] && exit 0
echo "$@" >>"$APT_LOG"
SH
cat >"$bin/sudo" <<'SH'
#!/bin/sh
exec "$@"
SH
cat >"$bin/node" <<'SH'
#!/bin/sh
exit 0
SH
chmod +x "$bin"/*

run() { # run MODE...: prints the apt-get install line
  : >"$WORK/apt.log"
  APT_LOG="$WORK/apt.log" PATH="$bin:$PATH" timeout 60 sh "$SRC/third_party/install.sh" "$@" \
    >"$WORK/out" 2>&1 || { echo "install.sh failed: $(cat "$WORK/out")"; return; }
  cat "$WORK/apt.log"
}

out=$(run)
expect_in "default mode installs the build packages" "$out" "cmake=3.25.*"
expect_in "default mode installs the test packages" "$out" "clang=1:14.*"
expect_not_in "default mode leaves out nginx-light" "$out" "nginx-light"
expect_not_in "default mode leaves out wrk" "$out" "wrk"
out=$(run --bench)
expect_in "--bench installs the build packages" "$out" "cmake=3.25.*"
expect_in "--bench installs nginx-light" "$out" "nginx-light=1.22.*"
expect_in "--bench installs wrk" "$out" "wrk=4.1.*"
finish
