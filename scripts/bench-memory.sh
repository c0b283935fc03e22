#!/usr/bin/env bash
# Memory benchmark: peak resident memory of the release binary under large SyncML
# messages from clients without credentials. Prints figures, asserts nothing.
#
#   1. CONCURRENCY (default 8) XML messages of minimal Adds, each just under
#      limits.max_body_bytes (default 4 MiB), posted at once;
#   2. CONCURRENCY WBXML messages of 100,000 Adds (about 2.9 MB each), posted at once;
#   3. one such WBXML message alone;
#   4. CONCURRENCY XML messages of that size holding only empty unknown elements,
#      directly in SyncBody and inside one Add.
#
# Each case runs on a fresh server; the figure is VmHWM (peak RSS) from
# /proc/PID/status, next to the idle figure after start.
#
#   scripts/bench-memory.sh
#   CONCURRENCY=1 BRIDGE_BIN=target/debug/syncml-bridge scripts/bench-memory.sh
#
# Needs: python3, curl.
set -euo pipefail

CONCURRENCY=${CONCURRENCY:-8}
BODY_BYTES=${BODY_BYTES:-4194304}
WBXML_ADDS=${WBXML_ADDS:-100000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d -t bench-memory-XXXXXX)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "missing $1: install $2" >&2; exit 1; }; }
need python3 python3
need curl curl

if [[ -z "${BRIDGE_BIN:-}" ]]; then
    (cd "$ROOT" && cargo build --release --quiet --bin syncml-bridge)
    BRIDGE_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/syncml-bridge"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

python3 - "$WORK" "$BODY_BYTES" "$WBXML_ADDS" <<'PY'
import sys
work, body_bytes, adds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hdr = ("<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD>"
       "<VerProto>SyncML/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>"
       "<Target><LocURI>http://bridge/syncml</LocURI></Target>"
       "<Source><LocURI>IMEI:350000000000001</LocURI></Source></SyncHdr><SyncBody>")
tail = "<Final/></SyncBody></SyncML>"
add = "<Add><CmdID>1</CmdID><Item><Data>x</Data></Item></Add>"
n = (body_bytes - len(hdr) - len(tail)) // len(add)
with open(f"{work}/adds.xml", "w") as f:
    f.write(hdr + add * n + tail)
unknown = "<x/>"
n = (body_bytes - len(hdr) - len(tail)) // len(unknown)
with open(f"{work}/unknown.xml", "w") as f:
    f.write(hdr + unknown * n + tail)
wrap = "<Add><CmdID>1</CmdID>", "</Add>"
n = (body_bytes - len(hdr) - len(tail) - len("".join(wrap))) // len(unknown)
with open(f"{work}/unknown-in-add.xml", "w") as f:
    f.write(hdr + wrap[0] + unknown * n + wrap[1] + tail)

def s(text):  # STR_I
    return b"\x03" + text.encode() + b"\x00"
def el(tag, *content):  # tag with content, then END
    return bytes([tag | 0x40]) + b"".join(content) + b"\x01"
out = bytearray(b"\x02\xa4\x01\x6a\x00")
header = el(0x2C,
            el(0x31, s("1.2")), el(0x32, s("SyncML/1.2")), el(0x25, s("1")), el(0x1B, s("1")),
            el(0x2E, el(0x17, s("http://bridge/syncml"))),
            el(0x27, el(0x17, s("IMEI:350000000000001"))))
body = bytearray()
for i in range(adds):
    body += el(0x05, el(0x0B, s(str(i))),
               el(0x14, el(0x27, el(0x17, s(str(i)))), el(0x0F, s("x"))))
out += el(0x2D, header, el(0x2B, bytes(body), b"\x12"))
with open(f"{work}/adds.wbxml", "wb") as f:
    f.write(out)
PY

# run_case LABEL FILE CONTENT_TYPE COUNT
run_case() {
    local port dir pid i
    port=$(free_port)
    dir="$WORK/$1"
    mkdir -p "$dir/data"
    SYNCML_BRIDGE_LISTEN="127.0.0.1:$port" \
        SYNCML_BRIDGE_DATA_DIR="$dir/data" \
        SYNCML_BRIDGE_UPSTREAM__URL="http://127.0.0.1:$(free_port)/" \
        SYNCML_BRIDGE_LOG__FILTER=warn \
        setsid "$BRIDGE_BIN" serve >"$dir/bridge.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for ((i = 0; i < 100; i++)); do
        curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
        sleep 0.1
    done
    local idle
    idle=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    local codes=()
    for ((i = 0; i < $4; i++)); do
        curl -s -o /dev/null -w '%{http_code}\n' -H "Content-Type: $3" \
            --data-binary "@$2" "http://127.0.0.1:$port/syncml" >"$dir/code.$i" &
    done
    wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
    for ((i = 0; i < $4; i++)); do codes+=("$(cat "$dir/code.$i")"); done
    local peak
    peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    printf '%-34s %8s KiB idle  %8s KiB peak  (%d x %d bytes; statuses %s)\n' \
        "$1" "$idle" "$peak" "$4" "$(stat -c %s "$2")" "$(echo "${codes[@]}" | tr ' ' '\n' | sort | uniq -c | xargs)"
    kill -TERM -- "-$pid" 2>/dev/null || true
}

echo "binary: $BRIDGE_BIN"
run_case "xml minimal Adds x$CONCURRENCY" "$WORK/adds.xml" application/vnd.syncml+xml "$CONCURRENCY"
run_case "wbxml $WBXML_ADDS Adds x$CONCURRENCY" "$WORK/adds.wbxml" application/vnd.syncml+wbxml "$CONCURRENCY"
run_case "wbxml $WBXML_ADDS Adds x1" "$WORK/adds.wbxml" application/vnd.syncml+wbxml 1
run_case "xml unknown in SyncBody x$CONCURRENCY" "$WORK/unknown.xml" application/vnd.syncml+xml "$CONCURRENCY"
run_case "xml unknown in one Add x$CONCURRENCY" "$WORK/unknown-in-add.xml" application/vnd.syncml+xml "$CONCURRENCY"
