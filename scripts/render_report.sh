#!/usr/bin/env bash
# Render the first pages of a review workbook to PNG, to check that it opens in a real
# spreadsheet application (LibreOffice) and looks right.
#
# Usage: scripts/render_report.sh [WORKBOOK.xlsx] [OUT_DIR]
#   defaults: reports/decontrol_candidates.xlsx, reports/render/
# Writes OUT_DIR/<name>.pdf (pages $RENDER_PAGES, default 1-3) and OUT_DIR/<name>-1.png ...
# -3.png (60 dpi).
# Needs: libreoffice (Debian package libreoffice-calc) and pdftoppm (poppler-utils).
set -euo pipefail

workbook="${1:-reports/decontrol_candidates.xlsx}"
out_dir="${2:-reports/render}"

missing=()
command -v libreoffice >/dev/null 2>&1 || missing+=(libreoffice-calc)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
if ((${#missing[@]})); then
    echo "render_report.sh: missing tools; install them with:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
if [[ ! -f "$workbook" ]]; then
    echo "render_report.sh: $workbook not found; build it with 'cclreview report' first" >&2
    exit 1
fi

mkdir -p "$out_dir"
name="$(basename "${workbook%.*}")"
# A private profile: works headless, never touches (or is locked by) a user's profile.
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# Only the first pages: a full export of a real workbook (tens of thousands of
# Evidence rows) runs to hundreds of pages and minutes of work.
pages="${RENDER_PAGES:-1-3}"
libreoffice -env:UserInstallation="file://$profile" --headless \
    --convert-to "pdf:calc_pdf_Export:{\"PageRange\":{\"type\":\"string\",\"value\":\"$pages\"}}" \
    --outdir "$out_dir" "$workbook" >/dev/null
pdf="$out_dir/$name.pdf"
if [[ ! -s "$pdf" ]]; then
    echo "render_report.sh: LibreOffice did not produce $pdf" >&2
    exit 1
fi
pdftoppm -png -r 60 -f 1 -l 3 "$pdf" "$out_dir/$name"
ls -1 "$out_dir"/"$name"*.png
