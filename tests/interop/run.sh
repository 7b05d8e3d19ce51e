#!/bin/sh
# run.sh FCRUN: installs the pinned official SDK (package-lock.json) and runs
# sdk.test.js against `FCRUN serve`. The install is skipped when node_modules
# already matches the lock file, so a second run needs no network.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH/TO/fcrun" >&2
  exit 2
fi
case $1 in
  /*) FCRUN=$1 ;;
  *) FCRUN=$(pwd)/$1 ;;
esac
[ -x "$FCRUN" ] || { echo "$0: $FCRUN is not an executable" >&2; exit 2; }
cd "$(dirname "$0")"

# npm writes node_modules/.package-lock.json on every install; when it is
# newer than package-lock.json the tree is current (npm ci would delete and
# re-fetch it all). --ignore-scripts: the SDK needs none on Node >= 14, and a
# test must not run code fetched at install time.
if [ ! -f node_modules/.package-lock.json ] ||
   [ -n "$(find package-lock.json -newer node_modules/.package-lock.json)" ]; then
  timeout 300 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi
exec timeout 180 node sdk.test.js "$FCRUN"
