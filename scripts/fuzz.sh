#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time and prints, per
# target, the number of executions and of crashes found.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Only a stable toolchain is
# required: RUSTC_BOOTSTRAP=1 lets it accept the -Z flags cargo-fuzz passes.
# Exits non-zero when a target crashed; the input is left in fuzz/artifacts/.
# A target name as second argument runs only that one.
set -euo pipefail

secs="${1:-60}"
only="${2:-}"
case "$secs" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed: run 'cargo install cargo-fuzz'" >&2
  exit 1
fi
export RUSTC_BOOTSTRAP=1

# Conversion targets read a selector byte (device settings) before the item, so their
# seeds are the fixtures of tests/fixtures/convert with one prepended; built fresh each run.
seeds_tmp="$(mktemp -d)"
trap 'rm -rf "$seeds_tmp"' EXIT
fx=../tests/fixtures/convert

# seed DIR SELECTOR FILE...: copies FILEs into DIR, each behind the selector byte.
seed() {
  local dir="$1" sel="$2"
  shift 2
  mkdir -p "$dir"
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    { printf "\\x$sel"; cat "$f"; } >"$dir/$(echo "$f" | tr '/' '_')"
  done
}

# merge seeds: selector, server item, NUL, phone item (as its DAV form where the fixture has one).
merge_seeds() {
  local dir="$1" d n=0
  mkdir -p "$dir"
  for d in "$fx"/merge/*/; do
    n=$((n + 1))
    # Selector 0 = vcard21 capability, 7 = sifc; the phone side is the expected result,
    # a DAV item that differs from the server's where the device changed something.
    { printf '\x00'; cat "$d/server.vcf"; printf '\x00'; cat "$d/expected.vcf"; } >"$dir/merge-$n"
    { printf '\x07'; cat "$d/server.vcf"; printf '\x00'; cat "$d/expected.vcf"; } >"$dir/merge-sifc-$n"
  done
  for f in "$fx"/calendar/*.ics; do
    n=$((n + 1))
    # 3 = vcal10, 9 = sift: a calendar merged into itself and into an empty one.
    { printf '\x03'; cat "$f"; printf '\x00'; cat "$f"; } >"$dir/merge-$n"
    { printf '\x19'; cat "$f"; printf '\x00'; } >"$dir/merge-sent-$n"
  done
}

# extra_dirs TARGET: the read-only corpus directories of a target, one a line.
extra_dirs() {
  local t="$1" s="$seeds_tmp/$1"
  [ -d "seeds/$t" ] && echo "seeds/$t"
  case "$t" in
    xml_decode)
      for d in ../tests/fixtures/wbxml ../tests/fixtures/messages; do
        [ -d "$d" ] && echo "$d"
      done
      ;;
    vobject_parse) echo "$fx" ;;
    vcard_to_dav)
      seed "$s" 05 "$fx"/contacts/*/*.vcard* "$fx"/merge/*/*.vcf "$fx"/merge/*/*.vcard21
      seed "$s" 41 "$fx"/contacts/*/*.vcard*
      echo "$s"
      ;;
    vcal_to_dav)
      seed "$s" 04 "$fx"/calendar/*.vcs
      seed "$s" 95 "$fx"/calendar/*.vcs
      echo "$s"
      ;;
    ical_to_phone)
      seed "$s" 04 "$fx"/calendar/*.ics "$fx"/sif/*.ics
      seed "$s" 18 "$fx"/calendar/*.ics "$fx"/sif/*.ics
      echo "$s"
      ;;
    sif_to_dav)
      seed "$s" 04 "$fx"/sif/*.sif? "$fx"/contacts/*/*.sifc
      echo "$s"
      ;;
    note_to_dav)
      seed "$s" 00 "$fx"/sif/note-*.ics
      echo "$s"
      ;;
    merge)
      merge_seeds "$s"
      echo "$s"
      ;;
  esac
}

status=0
for target in $(cargo fuzz list); do
  [ -n "$only" ] && [ "$target" != "$only" ] && continue
  corpus="corpus/$target"
  mkdir -p "$corpus" "artifacts/$target"
  dirs=("$corpus")
  while IFS= read -r d; do dirs+=("$d"); done < <(extra_dirs "$target")
  log="$(mktemp)"
  crashes_before=$(find "artifacts/$target" -type f | wc -l)
  rc=0
  # -timeout: an input that takes 10 s is a bug; -rss_limit_mb bounds memory.
  cargo fuzz run "$target" "${dirs[@]}" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -n 1)
  crashes=$(( $(find "artifacts/$target" -type f | wc -l) - crashes_before ))
  echo "$target: ${execs:-unknown} executions in ${secs}s, corpus $(find "$corpus" -type f | wc -l) inputs, new crashes: $crashes, exit $rc"
  if [ "$rc" -ne 0 ]; then
    status=1
    tail -n 40 "$log"
  fi
  rm -f "$log"
done
exit "$status"
