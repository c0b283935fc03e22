#!/usr/bin/env bash
# Installs every test dependency (Debian and Python packages) and runs all tests.
# Usage: scripts/test.sh            (needs root or sudo for apt-get)
set -euo pipefail
cd "$(dirname "$0")/.."

# The pinned upstream for integration tests (PyPI); the README names the same version.
RADICALE_VERSION=3.5.10
# The WebDAV file server of the backup tests (PyPI), pinned with its WSGI server.
WSGIDAV_VERSION=4.3.3
CHEROOT_VERSION=10.0.1
DEBIAN_PACKAGES=(syncevolution libwbxml2-utils xandikos kannel kannel-extras gcc curl python3 python3-pip python3-yaml openssl systemd)

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: need root or sudo to run: $*" >&2; exit 1; fi
}

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! python3 -c "import radicale, sys; sys.exit(0 if radicale.VERSION == '$RADICALE_VERSION' else 1)" 2>/dev/null; then
  echo "installing Radicale $RADICALE_VERSION from PyPI"
  python3 -m pip install -q "radicale==$RADICALE_VERSION" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "radicale==$RADICALE_VERSION"
fi

if ! python3 -c "import wsgidav, cheroot, sys; sys.exit(0 if (wsgidav.__version__, cheroot.__version__) == ('$WSGIDAV_VERSION', '$CHEROOT_VERSION') else 1)" 2>/dev/null; then
  echo "installing WsgiDAV $WSGIDAV_VERSION and cheroot $CHEROOT_VERSION from PyPI"
  python3 -m pip install -q "wsgidav==$WSGIDAV_VERSION" "cheroot==$CHEROOT_VERSION" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "wsgidav==$WSGIDAV_VERSION" "cheroot==$CHEROOT_VERSION"
fi

rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# Benches are built by clippy above and run by `cargo bench`, not here.
cargo test --locked --no-fail-fast --lib --bins --tests
