#!/usr/bin/env bash
# Slow-upstream benchmark: a proxy that holds every upstream request for D seconds (default
# 8) sits between the release bridge and a throwaway Radicale; one device (or a few) slow-syncs,
# then runs a two-way session with K Adds (default 5). Prints every message's wait per device,
# the worst wait of any phone message, and whether each session succeeded (benches/load.rs
# with --detail). Asserts nothing.
#
#   scripts/bench-slow-upstream.sh                      # 8 s per upstream request, 1 device
#   scripts/bench-slow-upstream.sh --delay 30 --devices 3 --changes 10
#
# Options: --delay SECS, --devices N, --changes K, --env NAME=VALUE (any bridge setting,
# repeatable), --timeout SECS (the whole client run, default 1200). Any other option goes to
# the client (--request-timeout SECS, the phone's patience, default 300).
#
# Needs: python3 with radicale (PyPI radicale==3.5.10), curl, cargo.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d -t bench-slow-upstream-XXXXXX)
# shellcheck source=scripts/lib/bench-common.sh
source "$ROOT/scripts/lib/bench-common.sh"

DELAY=8 DEVICES=1 CHANGES=5 TIMEOUT=1200
BRIDGE_ENV=() CLIENT_ARGS=()
while [[ $# -gt 0 ]]; do
    [[ $# -ge 2 ]] || { echo "$1 needs a value" >&2; exit 2; }
    case $1 in
        --delay) DELAY=$2 ;;
        --devices) DEVICES=$2 ;;
        --changes) CHANGES=$2 ;;
        --env) BRIDGE_ENV+=("$2") ;;
        --timeout) TIMEOUT=$2 ;;
        *) CLIENT_ARGS+=("$1" "$2") ;;
    esac
    shift 2
done

prepare_load_client

start_radicale upstream alice
PROXY_PORT=$(free_port)
setsid python3 "$ROOT/scripts/lib/delay_proxy.py" --listen "127.0.0.1:$PROXY_PORT" \
    --upstream "127.0.0.1:$RADICALE_PORT" --delay "$DELAY" >"$WORK/proxy.log" 2>&1 &
PIDS+=($!)
wait_for_port "$PROXY_PORT" 20
start_bridge "http://127.0.0.1:$PROXY_PORT/" "${BRIDGE_ENV[@]}"

echo "== every upstream request held $DELAY s; bridge settings: ${BRIDGE_ENV[*]:-defaults}"
status=0
timeout --kill-after=10 "$TIMEOUT" "$LOAD_BIN" \
    --url "http://127.0.0.1:$BRIDGE_PORT/syncml" --devices "$DEVICES" --changes "$CHANGES" \
    --bridge-pid "$BRIDGE_PID" --upstream-log "$RADICALE_LOG" --warmup-concurrency "$DEVICES" \
    --detail "${CLIENT_ARGS[@]}" || status=$?
if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "the client did not finish within $TIMEOUT s (--timeout); stopped it" >&2
elif [[ $status -ne 0 ]]; then
    echo "the client exited with status $status" >&2
fi
echo "== upstream requests through the proxy: $(grep -c ' held ' "$WORK/proxy.log" || true)"
if grep -q '^proxy:' "$WORK/proxy.log"; then
    echo "proxy errors:"
    grep '^proxy:' "$WORK/proxy.log" | sort | uniq -c
fi
exit "$status"
