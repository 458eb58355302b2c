#!/usr/bin/env bash
# System packages the web-chat browser test needs: Debian's Chromium (Playwright
# drives it; Playwright's own browser download is not reachable here) and CJK
# and emoji fonts so Chinese (and the bot's emoji) render in screenshots.  Node.js + npm install the widget's
# client library (socket.io-client) from the npm registry.  HAProxy balances the production
# topology's Rasa instances and action servers (`make run-prod`, docs/deployment.md).  libfaketime
# (Debian's faketime) runs the product on a moved clock for `make demo-traffic`.
#
# Idempotent: apt runs only when something is missing.  Needs root (or sudo).
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v faketime >/dev/null 2>&1 || missing+=(faketime)
for font in fonts-noto-cjk fonts-noto-color-emoji; do
    dpkg-query -W -f='${Status}' "$font" 2>/dev/null | grep -q "ok installed" || missing+=("$font")
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

echo "==> installing system packages: ${missing[*]}"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: need root to install ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
