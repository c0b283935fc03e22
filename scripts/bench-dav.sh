#!/bin/sh
# Lists and fetches 5,000 contacts from a local Radicale through the DAV module and
# with plain curl, and prints both wall times and request counts.
# Needs python3 with radicale==3.5.10 (pip install radicale==3.5.10) and curl.
# DAV_BENCH_ITEMS / DAV_BENCH_BATCH change the item count / multiget batch size.
set -eu
cd "$(dirname "$0")/.."
exec cargo bench --bench dav_fetch "$@"
