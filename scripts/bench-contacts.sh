#!/usr/bin/env bash
# Measures the Contacts page's two scale goals against the release binary,
# over HTTP as the browser calls them: importing 100,000 contacts (goal:
# 10 s or less), and paging through 1,000,000 contacts (goal: under 100 ms
# a page, at any depth), beside a cheap route's time in the same run; then
# downloads them all (Export CSV) and reports the server's peak memory
# before and after.
# While importing, two other writers write every 20 ms: another process's
# connection, which reports how long it waited for the write lock, and
# another organisation's member adding an opt-out through the product,
# and another renaming a list (one statement, no transaction), each of
# which reports how long each took (beside the same without imports).
# Usage: scripts/bench-contacts.sh [total contacts]  (after `scripts/build-release.sh`)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${OUTREACH_BIN:-target/release/outreach}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
port=3951
total=${1:-1000000}

export OUTREACH_DATABASE_URL="sqlite://$work/bench.db?mode=rwc" RUST_LOG=warn
export OUTREACH_PASSWORD="benchmark password"
"$bin" org create --name Bench --subscription active --default-country GB >/dev/null
"$bin" user create --org Bench --email bench@bench.test --role campaigner >/dev/null
"$bin" org create --name Neighbour --subscription active --default-country GB >/dev/null
"$bin" user create --org Neighbour --email neighbour@bench.test --role campaigner >/dev/null
OUTREACH_MASTER_KEY=$(head -c 32 /dev/urandom | base64) LEPTOS_SITE_ADDR="127.0.0.1:$port" "$bin" serve &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

python3 - "$port" "$total" "$server" "$work/bench.db" <<'PY'
import http.client, json, sqlite3, statistics, sys, threading, time, urllib.parse

port, total, server, database = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
BATCH = 100_000

def request(path, form=None, cookie=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["content-type"] = "application/x-www-form-urlencoded"
    if cookie:
        headers["cookie"] = cookie
    start = time.monotonic()
    conn.request("POST" if form is not None else "GET", path, body, headers)
    response = conn.getresponse()
    data = response.read()
    elapsed = time.monotonic() - start
    if response.status >= 400:
        sys.exit(f"{path}: HTTP {response.status}: {data[:300]!r}")
    return response, data, elapsed

def sign_in(email):
    response, _, _ = request("/api/sign_in", {"email": email, "password": "benchmark password"})
    return response.getheader("set-cookie").split(";")[0]
cookie = sign_in("bench@bench.test")
neighbour = sign_in("neighbour@bench.test")
neighbours_list = json.loads(request("/api/create_list", {"name": "Volunteers"}, neighbour)[1])

def batch(first):
    rows = ["phone,first_name,last_name,ward"]
    rows += [f"+44740{n:07d},Person,Number {n},Ward {n % 40}" for n in range(first, first + BATCH)]
    return "\n".join(rows)

# Another writer during the imports (as a campaign sending would be): it
# takes the write lock every 20 ms, and notes how long it waited.
waits, importing = [], threading.Event()
def other_writer():
    conn = sqlite3.connect(database, timeout=60, isolation_level=None)
    while importing.is_set():
        start = time.monotonic()
        conn.execute("BEGIN IMMEDIATE")
        waits.append(time.monotonic() - start)
        conn.execute("COMMIT")
        time.sleep(0.02)
# Another organisation's member adds an opt-out every 20 ms: a write
# through the product, in the same process as the imports.
saves, opted_out = [], iter(range(10_000_000))
def neighbour_saves(until):
    while until():
        _, _, elapsed = request("/api/add_opt_out", {"phone": f"+44770{next(opted_out):07d}"}, neighbour)
        saves.append(elapsed)
        time.sleep(0.02)
# The same organisation's other member renames a list every 20 ms: a
# write of one statement outside a transaction.
renames, renamed = [], iter(range(10_000_000))
def neighbour_renames(until):
    while until():
        _, _, elapsed = request("/api/rename_list", {"id": neighbours_list, "name": f"Volunteers {next(renamed)}"}, neighbour)
        renames.append(elapsed)
        time.sleep(0.02)
def percentiles(times):
    times = sorted(times)
    return (f"median {statistics.median(times) * 1000:.1f} ms, 99th percentile "
            f"{times[len(times) * 99 // 100] * 1000:.0f} ms, longest {times[-1] * 1000:.0f} ms ({len(times):,} writes)")
alone_until = time.monotonic() + 2
neighbour_saves(lambda: time.monotonic() < alone_until)
print(f"another organisation adding an opt-out, nothing else running: {percentiles(saves)}")
alone_until = time.monotonic() + 2
neighbour_renames(lambda: time.monotonic() < alone_until)
print(f"another organisation renaming a list, nothing else running: {percentiles(renames)}")
saves.clear()
renames.clear()
importing.set()
writer = threading.Thread(target=other_writer)
writer.start()
saving = threading.Thread(target=neighbour_saves, args=(importing.is_set,))
saving.start()
renaming = threading.Thread(target=neighbour_renames, args=(importing.is_set,))
renaming.start()
imports = []
for first in range(0, total, BATCH):
    _, data, elapsed = request("/api/import_contacts", {"file": batch(first)}, cookie)
    result = json.loads(data)
    assert result["new"] == BATCH, result
    imports.append(elapsed)
    if first == 0:
        print(f"import of the first 100,000 contacts: {elapsed:.2f} s (goal: at most 10 s)")
importing.clear()
writer.join()
saving.join()
renaming.join()
print(f"imports of 100,000 each, up to {total:,} contacts: "
      f"median {statistics.median(imports):.2f} s, slowest {max(imports):.2f} s")
print(f"another process meanwhile waited for the write lock: {percentiles(waits)}")
print(f"another organisation adding an opt-out meanwhile: {percentiles(saves)}")
print(f"another organisation renaming a list meanwhile: {percentiles(renames)}")

# Other large writes of one organisation, with the other organisation's
# saves beside each.
def beside_saves(label, path, form):
    saves.clear()
    renames.clear()
    busy = threading.Event()
    busy.set()
    saving = threading.Thread(target=neighbour_saves, args=(busy.is_set,))
    renaming = threading.Thread(target=neighbour_renames, args=(busy.is_set,))
    saving.start()
    renaming.start()
    _, data, elapsed = request(path, form, cookie)
    busy.clear()
    saving.join()
    renaming.join()
    print(f"{label}: {elapsed:.2f} s; another organisation meanwhile adding an opt-out: {percentiles(saves)}; "
          f"renaming a list: {percentiles(renames)}")
    return data
_, data, _ = request("/api/create_list", {"name": "Everyone"}, cookie)
everyone = json.loads(data)
beside_saves(f"adding {BATCH:,} contacts to a list (import_into_list)", "/api/import_into_list",
             {"id": everyone, "file": batch(0)})
beside_saves(f"importing {BATCH:,} opt-outs", "/api/import_opt_outs",
             {"numbers": "\n".join(f"+44740{n:07d}" for n in range(total - BATCH, total))})
beside_saves(f"deleting a list of {BATCH:,}", "/api/delete_list", {"id": everyone})

def timed(form, runs=20):
    times = []
    for _ in range(runs):
        _, data, elapsed = request("/api/contacts", form, cookie)
        times.append(elapsed * 1000)
    return statistics.median(times), max(times), json.loads(data)

cheap = []
for _ in range(20):
    _, _, elapsed = request("/healthz")
    cheap.append(elapsed * 1000)
print(f"a cheap route (/healthz) in the same run: median {statistics.median(cheap):.1f} ms")
middle = f"+44740{total // 2:07d}"
last = f"+44740{total - 30:07d}"
for label, form in [
    ("first page", {"search": ""}),
    (f"a page from the middle (after {middle})", {"search": "", "after": middle}),
    ("the last page", {"search": "", "after": last}),
    ("searching a number (first page)", {"search": "7400012"}),
    ("searching a name (first page)", {"search": "Number 123456"}),
    # Every contact is "Person Number N": a ninth of them match.
    ("searching a name a ninth match (first page)", {"search": "number 9"}),
    ("searching two letters of a name (first page)", {"search": "pe"}),
]:
    median, slowest, page = timed(form)
    print(f"{label}: median {median:.1f} ms, slowest {slowest:.1f} ms "
          f"({len(page['rows'])} rows" + (f" of {page['total']:,} counted)" if page['total'] is not None else ")"))
def peak_mib():
    with open(f"/proc/{server}/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM")).split()[1]) // 1024
print(f"server peak memory (VmHWM): {peak_mib()} MiB")
start = time.monotonic()
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
conn.request("GET", "/outreach/contacts.csv", headers={"cookie": cookie})
response = conn.getresponse()
size, lines = 0, 0
while chunk := response.read(1 << 16):
    size += len(chunk)
    lines += chunk.count(b"\n")
assert response.status == 200 and lines == total + 1, (response.status, lines)
print(f"export of {total:,} contacts: {size / 1e6:.1f} MB in {time.monotonic() - start:.1f} s; "
      f"server peak memory (VmHWM) after it: {peak_mib()} MiB")
PY
# The SQLite file with its WAL, once everything is imported.
echo "database on disk: $(du -cb "$work"/bench.db* | tail -1 | cut -f1 | numfmt --to=si)B"
