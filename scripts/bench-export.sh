#!/usr/bin/env bash
# A campaign's results download (`/outreach/campaigns/{id}/results.csv`) for a
# million recipients, against the release binary on SQLite: how long it
# takes, how big it is, and how much memory `outreach serve` needs for it
# (its peak, VmHWM, before and after the download), beside a cheap route's
# answer time while the download runs.
# The campaign and its messages are written straight into the database
# (Python's sqlite3; the database's triggers count them as they are
# written): this measures the download, not sending.
# Usage: scripts/bench-export.sh [recipients]  (after `scripts/build-release.sh`)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OUTREACH_BIN:-target/release/outreach}
recipients=${1:-1000000}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=3980

export OUTREACH_DATABASE_URL="sqlite://$work/bench.db?mode=rwc" RUST_LOG=warn
export OUTREACH_PASSWORD="benchmark password"
"$bin" org create --name Bench --subscription active --default-country GB >/dev/null
"$bin" user create --org Bench --email bench@bench.test --role org-admin >/dev/null
python3 - "$work/bench.db" "$recipients" <<'PY'
import sqlite3, sys
db, n = sqlite3.connect(sys.argv[1]), int(sys.argv[2])
org = db.execute("SELECT id FROM organisations WHERE name = 'Bench'").fetchone()[0]
db.execute("""INSERT INTO campaigns (id, organisation_id, name, channel, body, status, created_by,
              created_at, started_at, finished_at, estimated_segments)
              VALUES (1, ?, 'Bench', 'sms', 'Polls are open until 8pm.', 'completed', 'bench@bench.test',
              1, 1, 2, 1)""", (org,))
# Delivered, or failed with Twilio's reason: what a finished campaign holds.
db.execute("""WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
              INSERT INTO outbound_messages (campaign_id, phone, body, state, twilio_sid, twilio_status,
                                             error_code, error_message, attempts, created_at, updated_at)
              SELECT 1, printf('+447911%06d', i), 'Polls are open until 8pm.',
                     CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'delivered' END,
                     printf('SM%032x', i), CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'delivered' END,
                     CASE WHEN i % 10 = 0 THEN 30006 END, NULL, 1, 1, 2 FROM n""", (n,))
db.commit()
PY
export OUTREACH_MASTER_KEY
OUTREACH_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
LEPTOS_SITE_ADDR="127.0.0.1:$port" "$bin" serve &
serve=$!
pids+=("$serve")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

python3 - "$port" "$serve" "$recipients" <<'PY'
import http.client, sys, threading, time, urllib.parse

port, pid, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

def peak_mib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024

conn = http.client.HTTPConnection("127.0.0.1", port)
conn.request("POST", "/api/sign_in", urllib.parse.urlencode(
    {"email": "bench@bench.test", "password": "benchmark password"}),
    {"content-type": "application/x-www-form-urlencoded"})
response = conn.getresponse()
response.read()
cookie = response.getheader("set-cookie").split(";")[0]

def healthz_ms():
    c = http.client.HTTPConnection("127.0.0.1", port)
    start = time.monotonic()
    c.request("GET", "/healthz")
    c.getresponse().read()
    return (time.monotonic() - start) * 1000

idle = sorted(healthz_ms() for _ in range(20))
before = peak_mib()
during, done = [], threading.Event()
def probe():
    while not done.is_set():
        during.append(healthz_ms())
        time.sleep(0.05)
prober = threading.Thread(target=probe)
prober.start()
start = time.monotonic()
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
conn.request("GET", "/outreach/campaigns/1/results.csv", headers={"cookie": cookie})
response = conn.getresponse()
first_byte = time.monotonic() - start
size, lines = 0, 0
while chunk := response.read(1 << 16):
    size += len(chunk)
    lines += chunk.count(b"\n")
total = time.monotonic() - start
done.set()
prober.join()
if response.status != 200 or lines != n + 1:
    sys.exit(f"HTTP {response.status}, {lines} lines for {n:,} recipients")
during.sort()
print(f"{n:,} recipients: {size / 1e6:,.1f} MB of CSV, first byte after {first_byte * 1000:.0f} ms, "
      f"all of it in {total:.1f} s")
print(f"outreach serve peak memory (VmHWM): {before:.0f} MiB before the download, {peak_mib():.0f} MiB after")
print(f"/healthz meanwhile: median {during[len(during) // 2]:.1f} ms, slowest {during[-1]:.1f} ms "
      f"({len(during)} requests; idle median {idle[len(idle) // 2]:.1f} ms)")
PY
