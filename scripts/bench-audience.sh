#!/usr/bin/env bash
# Measures how long the server takes to check an audience (100,000
# recipients by default; the limit is 1,000,000), as the wizard's "Check
# audience" does, end to end over HTTP against the release binary, and the
# server's peak memory.
# Usage: scripts/bench-audience.sh [recipients]  (after `scripts/build-release.sh`)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/outreach
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
port=3950
rows=${1:-100000}

export OUTREACH_DATABASE_URL="sqlite://$work/bench.db?mode=rwc" RUST_LOG=warn
export OUTREACH_PASSWORD="benchmark password"
"$bin" org create --name Bench --subscription active --default-country GB >/dev/null
"$bin" user create --org Bench --email bench@bench.test --role campaigner >/dev/null
OUTREACH_MASTER_KEY=$(head -c 32 /dev/urandom | base64) LEPTOS_SITE_ADDR="127.0.0.1:$port" "$bin" serve &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

cookie=$(curl -s -D - -o /dev/null --data-urlencode email=bench@bench.test --data-urlencode "password=$OUTREACH_PASSWORD" \
  "http://127.0.0.1:$port/api/sign_in" | sed -n 's/^set-cookie: \(outreach_session=[^;]*\).*/\1/ip')
python3 - "$work/audience.json" "$rows" <<'PY'
import json, sys
rows = ["phone,first_name"] + [f"07400{i:06d},Person {i}" for i in range(int(sys.argv[2]))]
json.dump({"audience": "\n".join(rows)}, open(sys.argv[1], "w"))
PY
echo "audience: $rows rows, $(stat -c %s "$work/audience.json") bytes of JSON"
for run in 1 2 3; do
  curl -s -o "$work/out.json" -w "run $run: %{time_total} s, HTTP %{http_code}\n" -H "cookie: $cookie" \
    -H 'content-type: application/json' --data-binary @"$work/audience.json" "http://127.0.0.1:$port/api/preview_audience"
done
python3 -c "import json,sys; p=json.load(open('$work/out.json')); print('recipients:', p['recipients'], 'invalid:', p['invalid_total'])"
echo "server peak memory (VmHWM): $(grep VmHWM /proc/$server/status | awk '{print $2, $3}')"
