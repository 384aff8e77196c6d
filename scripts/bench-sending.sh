#!/usr/bin/env bash
# Runs a 100,000-recipient campaign end to end against the Twilio simulator
# (a separate `outreach twilio-sim` process, over real HTTP: every send is a
# POST, every status is a signed callback that Outreach verifies and
# stores), and reports messages per second and each process's CPU and peak
# memory, then the ceiling for the same HTTP work measured in the same run.
# Usage: scripts/bench-sending.sh [recipients]  (after `scripts/build-release.sh`)
# Knobs: OUTREACH_SEND_CONCURRENCY (default here 32), OUTREACH_SEND_RATE
# (default here unlimited: 1,000,000 per second), OUTREACH_BIN (default
# target/release/outreach, e.g. an older build to compare with),
# BENCH_DATABASE=sqlite|postgres (default sqlite; postgres runs under
# scripts/with-postgres.sh), BENCH_WORKERS=N (postgres only: one
# `--role web` process and N `--role worker` processes instead of one
# process doing everything).
set -euo pipefail
cd "$(dirname "$0")/.."
database=${BENCH_DATABASE:-sqlite}
workers=${BENCH_WORKERS:-0}
if [ "$database" = postgres ] && [ -z "${OUTREACH_TEST_POSTGRES_URL:-}" ]; then
  # Crash-safe like SQLite's WAL with synchronous=NORMAL: every write is
  # fsynced, a commit does not wait for its own flush.
  WITH_POSTGRES_SETTINGS="-c synchronous_commit=off" exec scripts/with-postgres.sh "$0" "$@"
fi
bin=${OUTREACH_BIN:-target/release/outreach}
recipients=${1:-100000}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=3960
sim_port=3961

# The metrics address is for the `serve` process below, not the simulator.
env -u OUTREACH_METRICS_ADDR "$bin" twilio-sim --listen "127.0.0.1:$sim_port" --write-accounts "$work/twilio.json" >/dev/null &
sim=$!
pids+=("$sim")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$sim_port/_simulator/health" >/dev/null && break; sleep 0.1; done

if [ "$database" = postgres ]; then
  name="bench_$$"
  psql -q "$OUTREACH_TEST_POSTGRES_URL" -c "CREATE DATABASE $name"
  export OUTREACH_DATABASE_URL="${OUTREACH_TEST_POSTGRES_URL%/*}/$name"
else
  export OUTREACH_DATABASE_URL="sqlite://$work/bench.db?mode=rwc"
fi
export RUST_LOG=warn
export OUTREACH_PASSWORD="benchmark password"
"$bin" org create --name Bench --subscription active --default-country GB >/dev/null
"$bin" user create --org Bench --email bench@bench.test --role org-admin >/dev/null
export OUTREACH_MASTER_KEY
OUTREACH_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export TWILIO_API_BASE_URL="http://127.0.0.1:$sim_port" TWILIO_MESSAGING_BASE_URL="http://127.0.0.1:$sim_port"
export OUTREACH_SEND_CONCURRENCY="${OUTREACH_SEND_CONCURRENCY:-32}" OUTREACH_SEND_RATE="${OUTREACH_SEND_RATE:-1000000}"
export OUTREACH_PUBLIC_URL="http://127.0.0.1:$port"
labels=()
serve() { # serve ROLE PORT
  local role=(--role "$1")
  # Builds from before roles existed do everything.
  [ "$1" != all ] || role=()
  LEPTOS_SITE_ADDR="127.0.0.1:$2" "$bin" serve "${role[@]}" &
  pids+=("$!")
  labels+=("outreach ($1)=$!")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && break; sleep 0.1; done
}
if [ "$workers" -gt 0 ]; then
  serve web "$port"
  for i in $(seq "$workers"); do serve worker $((port + 10 + i)); done
else
  serve all "$port"
fi
echo "database: $database; processes: ${labels[*]%%=*}"

python3 - "$port" "$work" "$recipients" "$sim" "$sim_port" "${labels[@]}" <<'PY'
import http.client, json, os, sys, time, urllib.parse

port, work, n, sim_pid, sim_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
processes = [label.split("=") for label in sys.argv[6:]] + [["simulator", sim_pid]]
twilio = json.load(open(f"{work}/twilio.json"))

def post(path, body, cookie=None, json_body=False):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=600)
    headers = {"content-type": "application/json" if json_body else "application/x-www-form-urlencoded"}
    if cookie:
        headers["cookie"] = cookie
    data = json.dumps(body) if json_body else urllib.parse.urlencode(body)
    conn.request("POST", path, data, headers)
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        sys.exit(f"{path}: HTTP {response.status}: {payload[:300]!r}")
    return response, payload

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def peak_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1])

response, _ = post("/api/sign_in", {"email": "bench@bench.test", "password": "benchmark password"})
cookie = response.getheader("set-cookie").split(";")[0]
post("/api/save_twilio_integration", {
    "section": "everything", "account_sid": twilio["account_sid"], "auth_token": twilio["auth_token"],
    "messaging_service_sid": twilio["messaging_service_sid"], "version": "0"}, cookie)
audience = "\n".join(["phone"] + [f"07911{i:06d}" for i in range(n)])
_, created = post("/api/create_campaign", {"name": "Bench", "channel": "sms", "audience": audience,
                                           "body": "Polls are open until 8pm. Reply STOP to opt out."}, cookie, True)
campaign = json.loads(created)

start = time.monotonic()
post("/api/run_campaign", {"id": campaign}, cookie)
print(f"Run campaign (the first 500 recipients queued, the engine queues the rest) answered in {(time.monotonic() - start) * 1000:.0f} ms")
sent_at = None
while True:
    # Often enough that the moment of completion is known to a tenth of a
    # second (at 0.5 s, a 13 s run read up to 4 % slow).
    time.sleep(0.1)
    _, listed = post("/api/list_campaigns", {}, cookie)
    row = next(c for c in json.loads(listed) if c["id"] == campaign)
    counts = dict(row["messages"])
    waiting = counts.get("queued", 0) + counts.get("sending", 0)
    if sent_at is None and waiting == 0:
        sent_at = time.monotonic() - start
    if row["status"] == "completed":
        break
    if time.monotonic() - start > 3600:
        sys.exit(f"not complete after an hour: {counts}")
total = time.monotonic() - start
conn = http.client.HTTPConnection("127.0.0.1", int(sim_port))
conn.request("GET", "/_simulator/messages")
sim = json.loads(conn.getresponse().read())
print(f"recipients: {n:,}; accepted by the simulator: {sim['accepted']:,} "
      f"({sim['recipients']:,} distinct, at most {sim['most_to_one_recipient']} each)")
print(f"every message handed to Twilio in {sent_at:.1f} s: {n / sent_at:,.0f} sends/s")
print(f"campaign completed (every status callback verified and stored) in {total:.1f} s: "
      f"{n / total:,.0f} messages/s end to end, {sim['callbacks_posted'] / total:,.0f} callbacks/s alongside")
print(f"final counts: {counts}")
for label, pid in processes:
    cpu = cpu_seconds(pid)
    print(f"{label}: peak memory (VmHWM) {peak_kib(pid) / 1024:.0f} MiB, CPU {cpu:.1f} s ({cpu / n * 1e6:.0f} µs a message)")
if os.environ.get("BENCH_DATABASE") == "postgres":
    # The cluster's postmaster and its backends (ended ones counted in
    # the postmaster's children's time).
    import subprocess
    postmaster = subprocess.run(["pgrep", "-o", "-u", "postgres", "postgres"], capture_output=True, text=True).stdout.split()[0]
    stat = open(f"/proc/{postmaster}/stat").read().rsplit(")", 1)[1].split()
    postgres_cpu = sum(int(stat[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")
    children = subprocess.run(["pgrep", "-P", postmaster], capture_output=True, text=True).stdout.split()
    postgres_cpu += sum(cpu_seconds(child) for child in children if os.path.exists(f"/proc/{child}"))
    print(f"postgres (all its processes): CPU {postgres_cpu:.0f} s")
print(f"(of {2 * total:.0f} core-seconds on 2 cores)")
open(f"{work}/end_to_end", "w").write(f"{n / total}")
PY

# The ceiling, in the same run on the same processes: per message, the same
# HTTP work as Outreach's (one send to the simulator, two status callbacks to
# Outreach), each at the rate wrk gets from the simulator's send endpoint
# and from a cheap route of Outreach's (/healthz, one trivial query). The
# two share the machine's cores, so the ceiling is 1 / (1/sends + 2/cheap).
command -v wrk >/dev/null || scripts/bootstrap.sh bench
read -r sid token service < <(python3 -c "import json,sys; t=json.load(open(sys.argv[1])); print(t['account_sid'], t['auth_token'], t['messaging_service_sid'])" "$work/twilio.json")
cat >"$work/send.lua" <<LUA
wrk.method = "POST"
wrk.body = "To=%2B447911000001&MessagingServiceSid=$service&Body=Ceiling"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(printf '%s:%s' "$sid" "$token" | base64 -w0)"
LUA
rate() { # rate URL [wrk args]: requests per second, 32 connections, 5 s
  wrk -t2 -c32 -d5s "${@:2}" "$1" | awk '/Requests\/sec/ { print $2 }'
}
# Each rate is the better of two, measured in turns: with one 5 s reading
# of each, the ceiling came out anywhere from 11,000 to 16,000 messages/s on
# the same machine and build, and a low ceiling flatters the ratio
# (BENCHMARKS.md, "A faster machine, the same ratio").
sends=0 cheap=0
for _ in 1 2; do
  sends=$(printf '%s\n' "$sends" "$(rate "http://127.0.0.1:$sim_port/2010-04-01/Accounts/$sid/Messages.json" -s "$work/send.lua")" | sort -g | tail -1)
  cheap=$(printf '%s\n' "$cheap" "$(rate "http://127.0.0.1:$port/healthz")" | sort -g | tail -1)
done
python3 - "$sends" "$cheap" "$(cat "$work/end_to_end")" <<'PY'
import sys
sends, cheap, ours = (float(x) for x in sys.argv[1:])
ceiling = 1 / (1 / sends + 2 / cheap)
print(f"ceiling in the same run: the simulator's send endpoint {sends:,.0f}/s, Outreach's /healthz {cheap:,.0f}/s: "
      f"{ceiling:,.0f} messages/s (one send, two callbacks each)")
print(f"end to end against the ceiling: {ours:,.0f} / {ceiling:,.0f} = {ours / ceiling:.2f} (issue 12 asks 0.5)")
PY
