#!/usr/bin/env bash
# Renders an HTML file (the careguard-audit --format html report) with
# headless Chromium from Debian and checks the screenshot is non-trivial.
#   scripts/render-html.sh report.html out.png
# Exit 0 when out.png exists and is larger than a blank page's PNG.
set -euo pipefail
html="$(realpath "$1")"
png="$(realpath -m "${2:-${1%.html}.png}")"
min_bytes="${MIN_PNG_BYTES:-20000}"

if ! command -v chromium >/dev/null 2>&1; then
  echo "render-html: installing chromium" >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null; fi
fi

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
rm -f "$png"
# A fresh profile and no background services: nothing leaves the machine.
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
  --hide-scrollbars --screenshot="$png" --window-size=1400,1000 "file://$html" >/dev/null 2>&1 || true

if [ ! -s "$png" ]; then
  echo "render-html: no screenshot produced for $html" >&2
  exit 1
fi
size=$(stat -c %s "$png")
if [ "$size" -lt "$min_bytes" ]; then
  echo "render-html: screenshot $png is only $size bytes (< $min_bytes): blank render?" >&2
  exit 1
fi
echo "$png ($size bytes)"
