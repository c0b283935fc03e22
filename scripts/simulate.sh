#!/usr/bin/env bash
# Runs many sync-simulator scenarios (release build) and prints how many ran, how fast,
# and every failure shrunk to a replayable scenario.
# Usage: scripts/simulate.sh [--scenarios N] [--seed FIRST] [--jobs J] [--no-shrink]
#                            [--seeds-from FILE]  (the seeds listed in FILE instead)
set -euo pipefail
cd "$(dirname "$0")/.."

scenarios=100000
seed=1000000
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
  case "$1" in
    --scenarios) scenarios="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --no-shrink) export SIM_SHRINK=0; shift ;;
    --seeds-from) SIM_SEEDS="$(cat "$2")"; export SIM_SEEDS; shift 2 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

SIM_SCENARIOS="$scenarios" SIM_SEED="$seed" SIM_JOBS="$jobs" \
  cargo test --release --test simulator -- --ignored --exact big_run --nocapture
