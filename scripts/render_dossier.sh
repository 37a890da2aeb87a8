#!/usr/bin/env bash
# Screenshots of the evidence dossier in headless Chromium, and one page printed to PDF.
#
#   scripts/render_dossier.sh [DOSSIER_DIR] [ECCN ...]
#
# Defaults: reports/dossier, ECCNs 2B001 3A090 2A290. Writes DOSSIER_DIR/_screens/:
# index.png, <ECCN>.png for each ECCN, and <first ECCN>.pdf (Chromium's print-to-PDF,
# A4 via the page's print stylesheet). Build the site first: `make reports` or
# `cclreview dossier`. Needs Chromium (Debian: `apt-get install chromium`).
set -euo pipefail

DIR="${1:-reports/dossier}"
shift || true
ECCNS=("$@")
if [ ${#ECCNS[@]} -eq 0 ]; then ECCNS=(2B001 3A090 2A290); fi

BROWSER=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then BROWSER="$(command -v "$b")"; break; fi
done
if [ -z "$BROWSER" ]; then
  echo "Error: Chromium not found. Install it with: apt-get update && apt-get install -y chromium" >&2
  exit 1
fi
if [ ! -f "$DIR/index.html" ]; then
  echo "Error: $DIR/index.html not found; build the dossier first (make reports, or cclreview dossier)" >&2
  exit 1
fi

OUT="$DIR/_screens"
mkdir -p "$OUT"
ABS="$(cd "$DIR" && pwd)"
# A throw-away profile; --no-sandbox because CI and containers run as root.
PROFILE="$(mktemp -d)"
trap 'rm -rf "$PROFILE"' EXIT
run() {
  timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$PROFILE" --no-first-run --disable-extensions \
    --virtual-time-budget=3000 "$@" 2>/dev/null
}

run --window-size=1280,1800 --screenshot="$OUT/index.png" "file://$ABS/index.html"
echo "wrote $OUT/index.png"
for e in "${ECCNS[@]}"; do
  if [ ! -f "$ABS/$e.html" ]; then echo "Error: no page $ABS/$e.html" >&2; exit 1; fi
  run --window-size=1100,3000 --screenshot="$OUT/$e.png" "file://$ABS/$e.html"
  echo "wrote $OUT/$e.png"
done
run --no-pdf-header-footer --print-to-pdf="$OUT/${ECCNS[0]}.pdf" "file://$ABS/${ECCNS[0]}.html"
echo "wrote $OUT/${ECCNS[0]}.pdf"
if command -v pdfinfo >/dev/null 2>&1; then
  pdfinfo "$OUT/${ECCNS[0]}.pdf" | grep -E '^(Pages|Page size)'
fi
