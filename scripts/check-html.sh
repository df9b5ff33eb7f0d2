#!/usr/bin/env bash
# Loads aifin's HTML snapshots of the sample month in headless Chromium:
# each must render with no console error and no network request, and the
# ledger's and the forecast's figures must be in the rendered DOM. Writes
# screenshots of the ledger and forecast pages to assets/snapshot-ledger.png
# and assets/snapshot-forecast.png when asked (--screenshot).
#
#   scripts/check-html.sh [--screenshot]
#
# Needs Debian's chromium (apt-get install chromium) and a built aifin.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${AIFIN_BIN:-target/debug/aifin}
CHROMIUM=${CHROMIUM:-chromium}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export AIFIN_DB="$work/ledger.db" TZ=UTC NO_COLOR=1
"$BIN" --config sample-data/aifin.toml ingest sample-data/ > /dev/null
"$BIN" --config sample-data/aifin.toml export --format html --since 2026-10-01 --until 2026-10-31 --out "$work/ledger.html" 2> /dev/null
"$BIN" --config sample-data/aifin.toml export --format html --view all --until 2026-10-25 --out "$work/all.html" 2> /dev/null
"$BIN" --config sample-data/aifin.toml export --format html --view forecast --until 2026-10-25 --out "$work/forecast.html" 2> /dev/null

chrome() {
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile-$RANDOM" --enable-logging=stderr --v=0 "$@"
}

fail=0
for page in ledger forecast all; do
  # A headless Chromium that dies at start on a loaded machine prints
  # nothing: up to three tries (a page that renders nothing fails all three).
  for try in 1 2 3; do
    chrome --dump-dom "file://$work/$page.html" > "$work/$page.dom" 2> "$work/$page.log" || true
    [ -s "$work/$page.dom" ] && break
    echo "note $page: Chromium printed no DOM (try $try)" >&2
  done
  # Console errors, refused or failed requests.
  if grep -E "Uncaught|Refused to|net::ERR_|CONSOLE.*[Ee]rror" "$work/$page.log" | grep -v "crashpad\|dbus\|Fontconfig" ; then
    echo "FAIL $page: console error or request (above)"; fail=1
  fi
  if [ ! -s "$work/$page.dom" ]; then echo "FAIL $page: nothing rendered"; fail=1; fi
done
for figure in '$41.80' '$24.20' '$17.60' '$15.40' '$6.60' '$4.40' '$110.00' '2,886' 'support-copilot'; do
  grep -qF "$figure" "$work/ledger.dom" || { echo "FAIL ledger: $figure not in the DOM"; fail=1; }
done
for figure in '$85.32' '$106.73' '$99.56' '$114.17' 'contract-extraction'; do
  grep -qF "$figure" "$work/forecast.dom" || { echo "FAIL forecast: $figure not in the DOM"; fail=1; }
done
for heading in 'Forecast' 'Budgets and burn-rate alerts' 'KPIs and SLOs' 'Who owns AI spend' 'Eval gate runs' 'Sources'; do
  grep -qF "$heading" "$work/all.dom" || { echo "FAIL all: '$heading' not in the DOM"; fail=1; }
done
if [ "${1:-}" = "--screenshot" ]; then
  for page in ledger forecast; do
    chrome --hide-scrollbars --window-size=1200,900 --screenshot="$PWD/assets/snapshot-$page.png" "file://$work/$page.html" 2> /dev/null
    echo "wrote assets/snapshot-$page.png"
  done
fi
[ $fail -eq 0 ] && echo "html: the three pages render in $("$CHROMIUM" --version) with no console error or request; the ledger's and the forecast's figures are in the DOM"
exit $fail
