#!/usr/bin/env bash
# Sync benchmark: the SyncEvolution client slow-syncs N vCard 2.1 contacts (default 5,000)
# through the bridge into a fresh Radicale, and the same contacts (as vCard 3.0) are PUT
# straight into another fresh Radicale of the same version over one keep-alive connection.
# Prints both wall times, their ratio, the bridge's own CPU seconds (/proc), and the upstream
# requests of a two-way sync with nothing changed (counted in Radicale's request log).
#
#   scripts/bench-sync.sh              # 5,000 contacts, release build
#   BENCH_CONTACTS=300 scripts/bench-sync.sh
#   BRIDGE_BIN=target/debug/syncml-bridge scripts/bench-sync.sh
#
# Needs: python3 with radicale (PyPI radicale==3.5.10), syncevolution (Debian), gcc, curl.
set -euo pipefail

N=${BENCH_CONTACTS:-5000}
MAX_MSG=${BENCH_MAX_MSG_SIZE:-65536}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d -t bench-sync-XXXXXX)
# shellcheck source=scripts/lib/bench-common.sh
source "$ROOT/scripts/lib/bench-common.sh"

need_radicale
need syncevolution "Debian package syncevolution"
need gcc gcc
build_bridge

echo "== generating $N contacts"
mkdir -p "$WORK/phone/contacts" "$WORK/direct-cards"
python3 - "$N" "$WORK/phone/contacts" "$WORK/direct-cards" <<'EOF'
import sys, os
n, phone_dir, direct_dir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
given = ["Jürgen", "Zoë", "Ana", "Björn", "Chloé", "Dmitri", "Eléonore", "François", "Grete",
         "Håkon", "Ines", "Jiří", "Kasia", "Łukasz", "Maël", "Nuño", "Oskar", "Paweł", "Renée",
         "Søren", "Tomáš", "Uwe", "Vera", "Wiebke", "Xavière", "Yusuf", "Zdeněk", "Agnès",
         "Céline", "Dörte", "Émile", "Fatma", "Hélène", "Lucía", "Noémi", "Ольга", "Pål",
         "Raphaël", "Thérèse", "Václav", "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald",
         "Frances", "John", "Margaret", "Niklaus"]
family = ["Müller", "Østergaard", "Dvořák", "Nuñez", "Šimková", "Łęcki", "Großmann", "Ibáñez",
          "Çelik", "Håland", "Kovačević", "Lefèvre", "Mäkinen", "Nørgaard", "Ożóg", "Pérez",
          "Rønning", "Schäfer", "Türk", "Ünal", "Vázquez", "Weiß", "Yıldız", "Žák", "Andrés",
          "Bähr", "Cañas", "Dürr", "Fürst", "Gómez", "Hübner", "Jäger", "Kühn", "Löw",
          "Nikolić", "Öztürk", "Sánchez", "Tóth", "Vogt", "Wójcik", "Lovelace", "Hopper",
          "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton", "Wirth",
          "Kay", "Lamport", "Ritchie", "Thompson", "Pike", "Kernighan", "Hoare", "Milner",
          "Naur", "Perlis", "McCarthy", "Minsky", "Shannon", "Hamming", "Codd", "Gray", "Cerf",
          "Kahn", "Postel", "Engelbart", "Sutherland", "Floyd", "Tarjan", "Karp", "Rabin",
          "Scott", "Cook", "Valiant", "Wing", "Goldwasser", "Micali", "Diffie", "Hellman",
          "Rivest", "Shamir", "Adleman", "Bachman", "Feigenbaum", "Reddy", "Corbató", "Engel",
          "Kahan", "Sussman", "Steele", "Abelson", "Wadler", "Hughes", "Peyton", "Launchbury",
          "Hudak"]
def qp(s):
    return "".join(c if 32 <= ord(c) < 127 and c != "=" else "".join(f"={b:02X}" for b in c.encode()) for c in s)
def prop21(name, value):
    return f"{name}:{value}" if value.isascii() else f"{name};CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{qp(value)}"
for i in range(n):
    g, f = given[i % len(given)], family[(i // len(given)) % len(family)]
    if i >= len(given) * len(family):
        f += "-" + family[(i // (len(given) * len(family))) % len(family)]
    tels = [f"+4917{10000000 + i:08}", f"+4930{2000000 + i:07}"] + ([f"+4989{5000000 + i:07}"] if i % 3 == 0 else [])
    mail = f"contact.{i}@example.org"
    adr = f";;Hauptstraße {i % 200 + 1};Köln;;50667;Deutschland" if i % 2 == 0 else None
    v21 = ["BEGIN:VCARD", "VERSION:2.1", prop21("N", f"{f};{g};;;"), prop21("FN", f"{g} {f}")]
    v30 = ["BEGIN:VCARD", "VERSION:3.0", f"UID:bench-{i}", f"N:{f};{g};;;", f"FN:{g} {f}"]
    for kind21, kind30, t in zip(["TEL;CELL", "TEL;HOME;VOICE", "TEL;WORK;VOICE"], ["CELL", "HOME,VOICE", "WORK,VOICE"], tels):
        v21.append(f"{kind21}:{t}")
        v30.append(f"TEL;TYPE={kind30}:{t}")
    v21.append(f"EMAIL;INTERNET:{mail}")
    v30.append(f"EMAIL;TYPE=INTERNET:{mail}")
    if adr:
        v21.append(prop21("ADR;HOME", adr))
        v30.append(f"ADR;TYPE=HOME:{adr}")
    v21.append("END:VCARD")
    v30.append("END:VCARD")
    with open(os.path.join(phone_dir, f"contact-{i:05}.vcf"), "w", encoding="utf-8") as out:
        out.write("\r\n".join(v21) + "\r\n")
    with open(os.path.join(direct_dir, f"bench-{i}.vcf"), "w", encoding="utf-8") as out:
        out.write("\r\n".join(v30) + "\r\n")
EOF

echo "== straight PUTs into a fresh Radicale"
start_radicale direct
DIRECT_SECONDS=$(python3 - "$RADICALE_PORT" "$WORK/direct-cards" <<'EOF'
import base64, http.client, os, sys, time
port, src = int(sys.argv[1]), sys.argv[2]
auth = "Basic " + base64.b64encode(b"alice:secret").decode()
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
names = sorted(os.listdir(src))
start = time.monotonic()
for name in names:
    body = open(os.path.join(src, name), "rb").read()
    conn.request("PUT", f"/alice/contacts/{name}", body,
                 {"Content-Type": "text/vcard; charset=utf-8", "Authorization": auth,
                  "If-None-Match": "*"})
    resp = conn.getresponse()
    resp.read()
    if resp.status not in (200, 201, 204):
        sys.exit(f"PUT {name}: {resp.status}")
print(f"{time.monotonic() - start:.1f}")
EOF
)
kill -TERM -- "-$direct_PID" 2>/dev/null || true

echo "== SyncEvolution slow sync through the bridge into a fresh Radicale"
start_radicale viabridge
start_bridge "http://127.0.0.1:$RADICALE_PORT/"

gcc -shared -fPIC -O2 -o "$WORK/curl_shim.so" "$ROOT/tests/support/curl_shim.c" -ldl
phone() {
    XDG_CONFIG_HOME="$WORK/phone/config" XDG_CACHE_HOME="$WORK/phone/cache" \
    XDG_DATA_HOME="$WORK/phone/data" LD_PRELOAD="$WORK/curl_shim.so" \
        syncevolution --daemon=no "$@"
}
phone --configure --template none keyring=no \
    "syncURL=http://127.0.0.1:$BRIDGE_PORT/syncml" username=alice password=secret \
    deviceId=bench-phone-1 enableWBXML=1 SyncMLVersion=1.2 clientAuthType=basic \
    "maxMsgSize=$MAX_MSG" preventSlowSync=0 RetryInterval=0 enableRefreshSync=1 \
    printChanges=0 dumpData=0 "logdir=$WORK/phone/logs" \
    contacts/backend=file "contacts/database=file://$WORK/phone/contacts" \
    contacts/databaseFormat=text/x-vcard contacts/syncFormat=text/x-vcard \
    contacts/forceSyncFormat=1 contacts/uri=Contacts \
    phone@bench contacts >"$WORK/configure.log" 2>&1

start=$(date +%s.%N)
if ! phone --sync slow phone@bench contacts >"$WORK/slow.log" 2>&1; then
    echo "the slow sync failed; client output:" >&2
    tail -40 "$WORK/slow.log" >&2
    exit 1
fi
end=$(date +%s.%N)
BRIDGE_SECONDS=$(python3 -c "print(f'{$end - $start:.1f}')")
BRIDGE_CPU=$(cpu_seconds "$BRIDGE_PID")
STORED=$(find "$WORK/viabridge/collections/collection-root/alice/contacts" -maxdepth 1 \
    -type f -not -name '.*' | wc -l)

echo "== two-way sync with nothing changed"
LOG="$WORK/viabridge/radicale.log"
before=$(requests_in "$LOG")
phone --sync two-way phone@bench contacts >"$WORK/two-way.log" 2>&1 ||
    { echo "the two-way sync failed:" >&2; tail -40 "$WORK/two-way.log" >&2; exit 1; }
sleep 0.5
after=$(requests_in "$LOG")
QUIET_REQUESTS=$((after - before))

echo
echo "contacts:                         $N (stored through the bridge: $STORED)"
echo "client maxMsgSize:                $MAX_MSG"
echo "straight PUTs into Radicale:      ${DIRECT_SECONDS} s"
echo "slow sync through the bridge:     ${BRIDGE_SECONDS} s"
echo "ratio bridge / straight:          $(python3 -c "print(f'{$BRIDGE_SECONDS / max($DIRECT_SECONDS, 0.001):.3f}')")"
echo "bridge CPU (user+sys):            ${BRIDGE_CPU} s"
echo "upstream requests, quiet two-way: $QUIET_REQUESTS (one datastore)"
grep " request for " "$LOG" | tail -n "$QUIET_REQUESTS" | sed 's/^/    /' || true
if [[ "$STORED" -ne "$N" ]]; then
    echo "FAILED: the bridge stored $STORED of $N contacts in Radicale" >&2
    exit 1
fi
