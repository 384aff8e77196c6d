#!/usr/bin/env bash
# Starts the release `outreach` binary the way a newcomer does, in demo
# mode (its own SQLite file and in-process Twilio simulator), in
# E2E_DEMO_DIR, where it writes the credentials it prints.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${OUTREACH_BIN:-$root/target/release/outreach}
rm -rf "$E2E_DEMO_DIR"
mkdir -p "$E2E_DEMO_DIR"

unset OUTREACH_MASTER_KEY OUTREACH_MASTER_KEY_FILE OUTREACH_PUBLIC_URL TWILIO_API_BASE_URL TWILIO_MESSAGING_BASE_URL
export RUST_LOG="${RUST_LOG:-warn}"
export OUTREACH_DATABASE_URL="sqlite://$E2E_DEMO_DIR/outreach.db?mode=rwc"
export LEPTOS_SITE_ADDR="127.0.0.1:${E2E_DEMO_PORT:-3120}"
export LEPTOS_SITE_ROOT="$root/target/site"
exec "$bin" serve --demo
