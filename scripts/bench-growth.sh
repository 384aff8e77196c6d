#!/usr/bin/env bash
# Issue 12's growth goal, measured against the release binary on SQLite:
# `Run campaign` for 1,000,000 recipients answers within seconds and never
# blocks other writers for more than 100 ms at a time; with the million
# messages stored, the campaign page, its recipient table and the campaign
# list answer in under 100 ms. Then cancelling it, which withdraws the
# million in the same way.
#
# Another writer is simulated by a second SQLite connection to the same
# file (Python's sqlite3, the same busy-timeout retries and durability as
# Outreach's own connections) committing a one-row transaction every 20 ms,
# before and while the campaign is queued: its slowest commit is how long
# Outreach kept writers waiting. The same writer's commits before the run, and a
# cheap route (/healthz) beside the pages, are measured in the same run.
# Usage: scripts/bench-growth.sh [recipients]  (after `scripts/build-release.sh`)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OUTREACH_BIN:-target/release/outreach}
recipients=${1:-1000000}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT
[ -z "${BENCH_KEEP:-}" ] || echo "keeping $work"
port=3970
sim_port=3971

"$bin" twilio-sim --listen "127.0.0.1:$sim_port" --write-accounts "$work/twilio.json" >/dev/null &
pids+=("$!")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$sim_port/_simulator/health" >/dev/null && break; sleep 0.1; done

export OUTREACH_DATABASE_URL="sqlite://$work/bench.db?mode=rwc" RUST_LOG=warn
export OUTREACH_PASSWORD="benchmark password"
"$bin" org create --name Bench --subscription active --default-country GB >/dev/null
"$bin" user create --org Bench --email bench@bench.test --role org-admin >/dev/null
export OUTREACH_MASTER_KEY
OUTREACH_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export TWILIO_API_BASE_URL="http://127.0.0.1:$sim_port" TWILIO_MESSAGING_BASE_URL="http://127.0.0.1:$sim_port"
# A Messaging Service's usual pace: the run is about storing, not sending.
export OUTREACH_SEND_RATE=20 OUTREACH_PUBLIC_URL="http://127.0.0.1:$port"
LEPTOS_SITE_ADDR="127.0.0.1:$port" "$bin" serve &
server=$!
pids+=("$server")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

python3 - "$port" "$work" "$recipients" "$server" <<'PY'
import contextlib, http.client, json, sqlite3, statistics, sys, threading, time, urllib.parse

port, work, n, server = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
twilio = json.load(open(f"{work}/twilio.json"))

def request(path, body=None, cookie=None, json_body=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {}
    data = None
    if body is not None:
        headers["content-type"] = "application/json" if json_body else "application/x-www-form-urlencoded"
        data = json.dumps(body) if json_body else urllib.parse.urlencode(body)
    if cookie:
        headers["cookie"] = cookie
    start = time.monotonic()
    conn.request("POST" if body is not None else "GET", path, data, headers)
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.monotonic() - start
    if response.status != 200:
        sys.exit(f"{path}: HTTP {response.status}: {payload[:300]!r}")
    return response, payload, elapsed

response, _, _ = request("/api/sign_in", {"email": "bench@bench.test", "password": "benchmark password"})
cookie = response.getheader("set-cookie").split(";")[0]
request("/api/save_twilio_integration", {
    "section": "everything", "account_sid": twilio["account_sid"], "auth_token": twilio["auth_token"],
    "messaging_service_sid": twilio["messaging_service_sid"], "version": "0"}, cookie)
# UK mobile numbers: 0740 0000000 to 0740 0999999 are all valid.
audience = "\n".join(["phone"] + [f"0740{i:07d}" for i in range(n)])
_, created, elapsed = request("/api/create_campaign", {"name": "Growth", "channel": "sms", "audience": audience,
                                                      "body": "Polls are open until 8pm. Reply STOP to opt out."},
                              cookie, True)
campaign = json.loads(created)
print(f"campaign of {n:,} recipients created in {elapsed:.1f} s")

# The other writer.
db = sqlite3.connect(f"{work}/bench.db", timeout=5, isolation_level=None)
db.execute("CREATE TABLE IF NOT EXISTS bench_writer (at REAL)")
waits, stop = [], threading.Event()
def write_every_20_ms():
    writer = sqlite3.connect(f"{work}/bench.db", timeout=5, isolation_level=None)
    writer.execute("PRAGMA synchronous = NORMAL")
    while not stop.is_set():
        start = time.monotonic()
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO bench_writer VALUES (?)", (start,))
        writer.execute("COMMIT")
        waits.append((start, (time.monotonic() - start) * 1000))
        time.sleep(0.02)
def slowest(since, until):
    during = [w for at, w in waits if since <= at < until]
    return max(during), statistics.quantiles(during, n=100, method="inclusive")[98], len(during)
@contextlib.contextmanager
def another_writer(lead):
    """The other writer commits throughout, starting `lead` seconds before."""
    waits.clear()
    stop.clear()
    writer = threading.Thread(target=write_every_20_ms)
    writer.start()
    time.sleep(lead)
    try:
        yield
    finally:
        stop.set()
        writer.join()

with another_writer(3):
    before = time.monotonic()
    _, _, answered = request("/api/run_campaign", {"id": campaign}, cookie)
    print(f"Run campaign answered in {answered * 1000:.0f} ms")
    while db.execute("SELECT queued_through IS NOT NULL FROM campaigns WHERE id = ?", (campaign,)).fetchone()[0]:
        time.sleep(0.2)
    queued = time.monotonic()
idle_max, idle_p99, idle_n = slowest(0, before)
run_max, run_p99, run_n = slowest(before, queued)
stored = db.execute("SELECT COUNT(*) FROM outbound_messages WHERE campaign_id = ?", (campaign,)).fetchone()[0]
print(f"every recipient queued {queued - before:.1f} s after the run started ({stored:,} messages)")
print(f"another writer's commits before the run ({idle_n}): slowest {idle_max:.1f} ms, 99th percentile {idle_p99:.1f} ms")
print(f"another writer's commits while queuing ({run_n}): slowest {run_max:.1f} ms, "
      f"99th percentile {run_p99:.1f} ms (goal: never blocked more than 100 ms)")

def timed(label, path, body=None, json_body=False, runs=20):
    times = []
    for _ in range(runs):
        _, _, elapsed = request(path, body, cookie, json_body)
        times.append(elapsed * 1000)
    print(f"{label}: median {statistics.median(times):.1f} ms, slowest {max(times):.1f} ms")

pages = (n + 99) // 100
timed("a cheap route (/healthz), same run", "/healthz")
timed("the campaign page, server-rendered (GET)", f"/outreach/campaigns/{campaign}")
timed("the campaign page's data, first page of recipients", "/api/campaign_details", {"id": campaign, "page": 1})
timed(f"the campaign page's data, recipients page {pages // 2:,}", "/api/campaign_details",
      {"id": campaign, "page": pages // 2})
timed(f"the campaign page's data, last recipients page ({pages:,})", "/api/campaign_details",
      {"id": campaign, "page": pages})
timed("the campaign list", "/api/list_campaigns", {})
timed("the campaign list, server-rendered (GET)", "/outreach/campaigns")
# Cancelling the million: the first 1,000 withdrawn at once, the rest by
# the engine, 1,000 a transaction, while the other writer writes again.
with another_writer(1):
    before = time.monotonic()
    _, _, answered = request("/api/cancel_campaign", {"id": campaign}, cookie)
    print(f"Cancel campaign answered in {answered * 1000:.0f} ms")
    while db.execute("SELECT COUNT(*) FROM (SELECT 1 FROM outbound_messages WHERE campaign_id = ? AND state = 'queued' LIMIT 1)",
                     (campaign,)).fetchone()[0]:
        time.sleep(0.2)
    withdrawn = time.monotonic()
cancel_max, cancel_p99, cancel_n = slowest(before, withdrawn)
print(f"every queued message withdrawn {withdrawn - before:.1f} s after the cancel")
print(f"another writer's commits while withdrawing ({cancel_n}): slowest {cancel_max:.1f} ms, "
      f"99th percentile {cancel_p99:.1f} ms")
with open(f"/proc/{server}/status") as status:
    peak = next(line for line in status if line.startswith("VmHWM")).split()[1]
print(f"outreach peak memory (VmHWM): {int(peak) // 1024} MiB")
PY
