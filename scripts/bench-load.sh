#!/usr/bin/env bash
# Load benchmark: N crafted SyncML devices (default 1,000) of U users against the release
# bridge in front of a throwaway Radicale. Each device slow-syncs first (warm-up, reported
# apart); then all start a two-way session with K Adds at the same moment. Prints sessions
# completed, errors by kind, latency per message, the bridge's CPU seconds and peak RSS, and
# upstream requests per session (benches/load.rs). Asserts nothing.
#
#   scripts/bench-load.sh                                  # 1,000 devices, one user, defaults
#   scripts/bench-load.sh --devices 500 --users 10 --changes 3
#   scripts/bench-load.sh --max-sessions 2000 --max-connections 4096
#   scripts/bench-load.sh --env SYNCML_BRIDGE_UPSTREAM__MAX_REQUESTS_IN_FLIGHT=64
#
# Options: --devices N, --users U, --changes K, --max-sessions S and --max-connections C
# (the bridge's limits; its defaults when not given), --env NAME=VALUE (any bridge setting,
# repeatable), --timeout SECS (the whole client run, default 1800). Any other option goes to
# the client (--warmup-concurrency C, --request-timeout SECS, --wave-timeout SECS, --detail).
# Users are alice when U is 1, else load0001..loadU, all with the password "secret".
#
# Needs: python3 with radicale (PyPI radicale==3.5.10), curl, cargo.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d -t bench-load-XXXXXX)
# shellcheck source=scripts/lib/bench-common.sh
source "$ROOT/scripts/lib/bench-common.sh"

DEVICES=1000 USERS=1 CHANGES=0 TIMEOUT=1800
BRIDGE_ENV=() CLIENT_ARGS=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --devices) DEVICES=$2; shift 2 ;;
        --users) USERS=$2; shift 2 ;;
        --changes) CHANGES=$2; shift 2 ;;
        --max-sessions) BRIDGE_ENV+=("SYNCML_BRIDGE_LIMITS__MAX_SESSIONS=$2"); shift 2 ;;
        --max-connections) BRIDGE_ENV+=("SYNCML_BRIDGE_LIMITS__MAX_CONNECTIONS=$2"); shift 2 ;;
        --env) BRIDGE_ENV+=("$2"); shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --detail) CLIENT_ARGS+=("$1"); shift ;;
        *) [[ $# -ge 2 ]] || { echo "$1 needs a value" >&2; exit 2; }
           CLIENT_ARGS+=("$1" "$2"); shift 2 ;;
    esac
done

prepare_load_client

# Every device holds a socket in the client and one in the bridge, which also talks upstream.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $((DEVICES * 2 + 256)) ]]; then
    echo "warning: ulimit -n is $(ulimit -n), low for $DEVICES devices" >&2
fi

if [[ $USERS -eq 1 ]]; then
    NAMES=(alice)
else
    mapfile -t NAMES < <(seq -f 'load%04g' 1 "$USERS")
fi
start_radicale upstream "${NAMES[@]}"
start_bridge "http://127.0.0.1:$RADICALE_PORT/" "${BRIDGE_ENV[@]}"

echo "== bridge settings: ${BRIDGE_ENV[*]:-defaults (limits.max_sessions 500, limits.max_connections 1024)}"
echo "== open files limit: $(ulimit -n)"
status=0
timeout --kill-after=10 "$TIMEOUT" "$LOAD_BIN" \
    --url "http://127.0.0.1:$BRIDGE_PORT/syncml" --devices "$DEVICES" --users "$USERS" \
    --changes "$CHANGES" --bridge-pid "$BRIDGE_PID" --upstream-log "$RADICALE_LOG" \
    "${CLIENT_ARGS[@]}" || status=$?
if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "the client did not finish within $TIMEOUT s (--timeout); stopped it" >&2
elif [[ $status -ne 0 ]]; then
    echo "the client exited with status $status" >&2
fi
if ! kill -0 "$BRIDGE_PID" 2>/dev/null; then
    echo "the bridge is no longer running; its log ends:" >&2
    tail -20 "$WORK/bridge.log" >&2
fi
exit "$status"
