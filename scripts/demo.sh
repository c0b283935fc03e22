#!/usr/bin/env bash
# Starts a throwaway Radicale with a demo account and the bridge in front of it, then prints
# what to type into a phone. Everything lives in a temporary directory removed on exit.
# Usage: scripts/demo.sh   (env: LISTEN=0.0.0.0:8080, DAV_PORT=5232, DEMO_USER=demo, DEMO_PASSWORD=demo)
set -euo pipefail
cd "$(dirname "$0")/.."

RADICALE_VERSION=3.5.10
LISTEN=${LISTEN:-0.0.0.0:8080}
DAV_PORT=${DAV_PORT:-5232}
DEMO_USER=${DEMO_USER:-demo}
DEMO_PASSWORD=${DEMO_PASSWORD:-demo}

if ! python3 -c "import radicale" 2>/dev/null; then
  echo "installing Radicale $RADICALE_VERSION from PyPI"
  python3 -m pip install -q "radicale==$RADICALE_VERSION" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "radicale==$RADICALE_VERSION"
fi
command -v curl >/dev/null || { echo "error: curl is needed (apt-get install curl)" >&2; exit 1; }

cargo build --release --locked --quiet

work=$(mktemp -d -t syncml-bridge-demo.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

printf '%s:%s\n' "$DEMO_USER" "$DEMO_PASSWORD" > "$work/users"
cat > "$work/radicale.conf" <<CONF
[server]
hosts = 127.0.0.1:$DAV_PORT
[auth]
type = htpasswd
htpasswd_filename = $work/users
htpasswd_encryption = plain
[storage]
filesystem_folder = $work/collections
CONF
python3 -m radicale --config "$work/radicale.conf" > "$work/radicale.log" 2>&1 &
pids+=($!)
dav="http://127.0.0.1:$DAV_PORT"
for _ in $(seq 1 100); do curl -s -o /dev/null "$dav/" && break; sleep 0.1; done
curl -s -o /dev/null "$dav/" || { echo "error: Radicale did not start:" >&2; cat "$work/radicale.log" >&2; exit 1; }

auth=(-u "$DEMO_USER:$DEMO_PASSWORD")
curl -sf "${auth[@]}" -X PROPFIND -H 'Depth: 0' "$dav/$DEMO_USER/" -o /dev/null || true
curl -sf "${auth[@]}" -X MKCOL "$dav/$DEMO_USER/contacts/" -H 'Content-Type: application/xml' --data \
  '<?xml version="1.0"?><mkcol xmlns="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><set><prop><resourcetype><collection/><CR:addressbook/></resourcetype><displayname>Contacts</displayname></prop></set></mkcol>' -o /dev/null
for pair in calendar:VEVENT tasks:VTODO notes:VJOURNAL; do
  name=${pair%%:*}; comp=${pair##*:}
  curl -sf "${auth[@]}" -X MKCALENDAR "$dav/$DEMO_USER/$name/" -H 'Content-Type: application/xml' --data \
    "<?xml version=\"1.0\"?><C:mkcalendar xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop><D:displayname>${name^}</D:displayname><C:supported-calendar-component-set><C:comp name=\"$comp\"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>" -o /dev/null
done

# MD5 log-ins need the upstream password stored, sealed with a vault key the admin holds.
export SYNCML_BRIDGE_AUTH__VAULT_KEY_FILE="$work/vault.key"
head -c 32 /dev/urandom | base64 > "$SYNCML_BRIDGE_AUTH__VAULT_KEY_FILE"
printf '%s\n' "$DEMO_PASSWORD" | ./target/release/syncml-bridge users set-password "$DEMO_USER" --data-dir "$work/data"

host=$(hostname -I 2>/dev/null | awk '{print $1}')
port=${LISTEN##*:}
[ -n "$host" ] || host=127.0.0.1
cat <<TXT

  syncml-bridge demo is running (Radicale $dav behind it; Ctrl-C stops both)

    SyncML server URL : http://$host:$port/syncml
    User name         : $DEMO_USER
    Password          : $DEMO_PASSWORD
    Databases         : contacts, calendar, tasks, notes
    Authentication    : Basic or MD5

TXT
./target/release/syncml-bridge serve --listen "$LISTEN" --upstream "$dav/" --data-dir "$work/data" &
pids+=($!)
wait "${pids[-1]}"
