#!/usr/bin/env bash
# How fast the bundle's static files are served next to a cheap
# server-rendered page, measured in one run with wrk (32 connections,
# keep-alive, loopback): the ratio is what counts, not the machine.
# Usage: scripts/bench-static.sh [seconds]  (after `scripts/build-release.sh`).
# Knob: OUTREACH_BIN (default target/release/outreach).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OUTREACH_BIN:-target/release/outreach}
seconds=${1:-5}
command -v wrk >/dev/null || scripts/bootstrap.sh bench
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=3980
export OUTREACH_DATABASE_URL="sqlite://$work/static.db?mode=rwc" RUST_LOG=warn
export OUTREACH_MASTER_KEY
OUTREACH_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
LEPTOS_SITE_ADDR="127.0.0.1:$port" "$bin" serve &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

# The bundle's files, as the sign-in page names them.
page=$(curl -sf "http://127.0.0.1:$port/login")
css=$(grep -o '/pkg/[^"]*\.css' <<<"$page" | head -1)
js=$(grep -o '/pkg/[^"]*\.js' <<<"$page" | head -1)
wasm=$(grep -o '/pkg/[^"]*\.wasm' <<<"$page" | head -1)

rate() { # rate URL [HEADER]
  local args=(-t2 -c32 -d"${seconds}s" --latency)
  [ -z "${2:-}" ] || args+=(-H "$2")
  # Requests per second, then the median latency.
  wrk "${args[@]}" "http://127.0.0.1:$port$1" \
    | awk '/Requests\/sec/ { rate = $2 } / 50% / { median = $2 } END { print rate, median }'
}
printf '%-48s %12s %10s %8s\n' "what" "requests/s" "median" "ratio"
read -r login login_median <<<"$(rate /login)"
printf '%-48s %12s %10s %8s\n' "GET /login (server-rendered page)" "$login" "$login_median" "1.00"
for target in "$css|" "$js|" "$css|Accept-Encoding: br, gzip" "$wasm|Accept-Encoding: br, gzip"; do
  url=${target%%|*}
  header=${target#*|}
  read -r r median <<<"$(rate "$url" "$header")"
  label="GET $url${header:+ (br)}"
  printf '%-48s %12s %10s %8.2f\n' "${label:0:48}" "$r" "$median" "$(awk -v a="$r" -v b="$login" 'BEGIN { print a / b }')"
done
for url in "$css" "$js" "$wasm"; do
  headers=$(curl -s -o /dev/null -D - -H 'Accept-Encoding: br, gzip' "http://127.0.0.1:$port$url")
  echo "$url: $(grep -i '^cache-control' <<<"$headers" | tr -d '\r'), $(grep -i '^content-encoding' <<<"$headers" | tr -d '\r' || echo 'not compressed')"
done
