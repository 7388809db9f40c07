#!/usr/bin/env bash
# Debian's Chromium and a CJK font for the console's browser test (test/console.test.ts), driven by
# playwright-core at /usr/bin/chromium (or CHROMIUM_PATH); Playwright itself downloads nothing. Skipped when present.
# In CI (CI=1 or true; .ci/run sets it) a browser that cannot be installed fails setup: the test suite needs it.
# A developer without root gets a warning: everything but the browser test runs without it.
set -euo pipefail

# The browser the test drives (CHROMIUM_PATH, else /usr/bin/chromium), not just any chromium on PATH.
present() { [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && fc-list :lang=zh 2>/dev/null | grep -q .; }

in_ci() { case "${CI:-}" in 1 | true) return 0 ;; *) return 1 ;; esac; }

fail() {
  echo "install-browser: ERROR: $1" >&2
  exit 1
}

if present; then
  echo "install-browser: chromium and a Chinese font are present"
  exit 0
fi
missing="chromium or a Chinese font is missing; install them (Debian: apt-get install chromium fonts-wqy-microhei)"
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  if in_ci; then fail "$missing; this script cannot (it needs root and apt-get), and CI runs the browser test"; fi
  echo "install-browser: WARNING: $missing" >&2
  echo "install-browser: the console's browser test needs them; everything else runs without" >&2
  exit 0
fi
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }; then
  fail "apt-get could not install chromium and fonts-wqy-microhei"
fi
present || fail "chromium or a Chinese font is still missing after apt-get install"
echo "install-browser: installed chromium and fonts-wqy-microhei"
