#!/usr/bin/env bash
# The browser tests (examples/server/test/console-browser.test.ts) drive Debian's Chromium through
# playwright-core; nothing downloads a browser. Installs it with apt-get when it is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "== chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
  exit 0
fi
echo "== installing chromium (apt-get)"
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo -n"
$SUDO apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
/usr/bin/chromium --version
