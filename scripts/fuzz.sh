#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time and prints, per
# target, the number of executions and of crashes found.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Only a stable toolchain is
# required: RUSTC_BOOTSTRAP=1 lets it accept the -Z flags cargo-fuzz passes.
# Exits non-zero when a target crashed; the input is left in fuzz/artifacts/.
set -euo pipefail

secs="${1:-60}"
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

status=0
for target in $(cargo fuzz list); do
  corpus="corpus/$target"
  mkdir -p "$corpus" "artifacts/$target"
  # Extra corpus directories are read, never written: the seeds in fuzz/seeds
  # and, for XML, the message fixtures of the test suite.
  dirs=("$corpus")
  [ -d "seeds/$target" ] && dirs+=("seeds/$target")
  if [ "$target" = xml_decode ]; then
    for d in ../tests/fixtures/wbxml ../tests/fixtures/messages; do
      [ -d "$d" ] && dirs+=("$d")
    done
  fi
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
