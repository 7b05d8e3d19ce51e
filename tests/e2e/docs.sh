#!/usr/bin/env bash
# docs.sh FCRUN SRC: every ```lua example in README.md and docs/*.md, and
# every example runbook in scripts/, runs as it is against the emulator of
# scripts/functions (fcrun --local). An example checks itself with assert.
FCRUN=$1
SRC=$2
. "$(dirname "$0")/lib.sh"

for doc in "$SRC"/README.md "$SRC"/docs/*.md; do
  [ -f "$doc" ] || continue
  n=0
  # Split the ```lua blocks into files: example-1.lua, example-2.lua, ...
  awk -v dir="$WORK" -v base="$(basename "$doc" .md)" '
    /^```lua$/ { n++; file = sprintf("%s/%s-%02d.lua", dir, base, n); inb = 1; next }
    /^```/ { inb = 0; next }
    inb { print > file }' "$doc"
  for ex in "$WORK/$(basename "$doc" .md)"-*.lua; do
    [ -f "$ex" ] || continue
    n=$((n + 1))
    # A block that starts "-- NAME.lua" is a function for the emulator: it is
    # collected and invoked below rather than run as a script.
    fname=$(sed -n '1s/^-- \([A-Za-z_][A-Za-z0-9_-]*\)\.lua$/\1/p' "$ex")
    if [ -n "$fname" ]; then
      mkdir -p "$WORK/functions"
      mv "$ex" "$WORK/functions/$fname.lua"
      continue
    fi
    line=$(grep -v '^local fc = require' "$ex" | head -n 1)
    if out=$(cd "$SRC" && timeout 60 "$FCRUN" --local scripts/functions "$ex" 2>&1); then
      ok "$(basename "$doc") example $n: $line"
    else
      fail "$(basename "$doc") example $n: $line" "$out"
    fi
  done
done

# Each documented function answers an invocation without a function error.
for fn in "$WORK"/functions/*.lua; do
  [ -f "$fn" ] || continue
  name=$(basename "$fn" .lua)
  if out=$(timeout 60 "$FCRUN" --local "$WORK/functions" -e "
      local r = require('fc').invoke('$name', '{\"key\": \"photo.jpg\"}')
      assert(r.ok, r.body)" 2>&1); then
    ok "documented function $name.lua answers"
  else
    fail "documented function $name.lua answers" "$out"
  fi
done

for script in "$SRC"/scripts/*.lua; do
  if out=$(cd "$SRC" && timeout 60 "$FCRUN" --local scripts/functions "scripts/$(basename "$script")" 2>&1); then
    ok "scripts/$(basename "$script")"
  else
    fail "scripts/$(basename "$script")" "$out"
  fi
done
finish
