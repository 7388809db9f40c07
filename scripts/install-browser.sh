#!/usr/bin/env bash
# Debian's Chromium and a CJK font for the console's browser test (test/console.test.ts), driven by
# playwright-core at /usr/bin/chromium; Playwright itself downloads nothing. Skipped when present.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; then
  echo "install-browser: chromium and a Chinese font are present"
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: chromium or a Chinese font is missing; install them (Debian: apt-get install chromium fonts-wqy-microhei)" >&2
  echo "install-browser: the console's browser test needs them; everything else runs without" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
echo "install-browser: installed chromium and fonts-wqy-microhei"
