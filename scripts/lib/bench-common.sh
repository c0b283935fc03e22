# Shell helpers shared by the benchmark scripts (sourced, not run): a throwaway Radicale,
# the bridge binary, free ports, CPU from /proc. The caller sets ROOT and WORK, and the
# helpers append every started process group to PIDS so the EXIT trap stops them all.
# shellcheck shell=bash

PIDS=()

bench_cleanup() {
    local pid i
    for pid in "${PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    # A server may still be writing its files; removing them under it fails.
    for pid in "${PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do
            kill -0 -- "-$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    if [[ -z "${BENCH_KEEP:-}" ]]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap bench_cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "missing $1: install $2" >&2; exit 1; }; }

need_radicale() {
    need python3 python3
    need curl curl
    python3 -c 'import radicale' 2>/dev/null ||
        { echo "missing python module radicale: pip install radicale==3.5.10" >&2; exit 1; }
}

# Sets BRIDGE_BIN to the release binary (built here) unless the caller set it.
build_bridge() {
    if [[ -z "${BRIDGE_BIN:-}" ]]; then
        (cd "$ROOT" && cargo build --release --quiet --bin syncml-bridge)
        BRIDGE_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/syncml-bridge"
    fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for() { # url, seconds
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "nothing answered at $1 within $2 s" >&2
    exit 1
}

# start_radicale NAME [USER...] -> sets RADICALE_PORT, RADICALE_PID, RADICALE_LOG and
# NAME_PID. Each user (default alice) gets the password "secret" and an address book
# "contacts".
start_radicale() {
    local dir="$WORK/$1" user
    shift
    local users=("$@")
    [[ ${#users[@]} -gt 0 ]] || users=(alice)
    mkdir -p "$dir/collections"
    : >"$dir/users"
    for user in "${users[@]}"; do echo "$user:secret" >>"$dir/users"; done
    RADICALE_PORT=$(free_port)
    cat >"$dir/config" <<CONF
[server]
hosts = 127.0.0.1:$RADICALE_PORT
[auth]
type = htpasswd
htpasswd_filename = $dir/users
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = $dir/collections
[web]
type = none
[logging]
level = info
mask_passwords = True
CONF
    setsid python3 -m radicale --config "$dir/config" >"$dir/radicale.log" 2>&1 &
    RADICALE_PID=$!
    RADICALE_LOG="$dir/radicale.log"
    PIDS+=("$RADICALE_PID")
    eval "$(basename "$dir" | tr -- - _)_PID=$RADICALE_PID"
    wait_for "http://127.0.0.1:$RADICALE_PORT/" 20
    for user in "${users[@]}"; do
        curl -sf -u "$user:secret" -X MKCOL -H 'Content-Type: application/xml' \
            --data '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>' \
            "http://127.0.0.1:$RADICALE_PORT/$user/contacts/" >/dev/null
    done
}

# start_bridge UPSTREAM_URL [NAME=VALUE...] -> sets BRIDGE_PORT, BRIDGE_PID; the extra
# arguments are environment settings (SYNCML_BRIDGE_...). Logs to $WORK/bridge.log.
start_bridge() {
    local upstream=$1
    shift
    BRIDGE_PORT=$(free_port)
    mkdir -p "$WORK/bridge-data"
    env SYNCML_BRIDGE_LISTEN="127.0.0.1:$BRIDGE_PORT" \
        SYNCML_BRIDGE_UPSTREAM__URL="$upstream" \
        SYNCML_BRIDGE_DATA_DIR="$WORK/bridge-data" \
        SYNCML_BRIDGE_LOG__FILTER="${BRIDGE_LOG_FILTER:-warn}" \
        "$@" setsid "$BRIDGE_BIN" serve >"$WORK/bridge.log" 2>&1 &
    BRIDGE_PID=$!
    PIDS+=("$BRIDGE_PID")
    wait_for "http://127.0.0.1:$BRIDGE_PORT/healthz" 30
}

cpu_seconds() { # pid -> utime+stime in seconds
    python3 - "$1" <<'PY'
import os, sys
stat = open(f"/proc/{sys.argv[1]}/stat").read()
fields = stat.rsplit(")", 1)[1].split()
print((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
PY
}

requests_in() { grep -c " request for " "$1" || true; }

# Builds benches/load.rs and prints the path of its executable.
build_load_client() {
    (cd "$ROOT" && cargo bench --quiet --bench load --no-run --message-format=json) |
        python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "load":
        print(m["executable"])'
}

# prepare_load_client: checks the tools, builds the bridge and the load client; sets LOAD_BIN.
prepare_load_client() {
    need_radicale
    need cargo "a Rust toolchain"
    build_bridge
    LOAD_BIN=$(build_load_client)
    [[ -x $LOAD_BIN ]] || { echo "building benches/load.rs failed" >&2; exit 1; }
}

wait_for_port() { # port, seconds: a TCP connect, for servers whose answers are slow
    python3 - "$1" "$2" <<'PY' || { echo "nothing listens on port $1 within $2 s" >&2; exit 1; }
import socket, sys, time
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}
