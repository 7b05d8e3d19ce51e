#!/bin/sh
# Installs the Debian 12 packages listed in deps.txt, at the pinned versions.
# Idempotent: a second run installs nothing new. Needs root (or sudo).
#   third_party/install.sh          build and test dependencies
#   third_party/install.sh --bench  also what the benchmarks need (nginx, wrk)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
want_bench=0
[ "${1:-}" = "--bench" ] && want_bench=1

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

pkgs=""
section=""
# A section starts at a line "# build", "# tests ..." or "# benchmarks ..."
# (matched on the whole line: read would split it into "#" and the word).
while IFS= read -r line; do
  case "$line" in
    "# build"|"# build "*|"# tests"|"# tests "*) section=core; continue ;;
    "# benchmarks"|"# benchmarks "*) section=bench; continue ;;
    ""|\#*) continue ;;
  esac
  read -r name version <<LINE
$line
LINE
  [ "$section" = bench ] && [ $want_bench = 0 ] && continue
  if [ "$version" = "*" ]; then pkgs="$pkgs $name"; else pkgs="$pkgs $name=$version"; fi
done < "$here/deps.txt"

command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"

missing=""
for p in $pkgs; do
  n=${p%%=*}
  dpkg-query -W -f='${Status}' "$n" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "third_party: all dependencies present"
  exit 0
fi
echo "third_party: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
