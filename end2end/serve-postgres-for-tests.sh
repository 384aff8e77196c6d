#!/usr/bin/env bash
# Starts Outreach on PostgreSQL as an operator runs several processes: one
# `--role web` process (E2E_PG_PORT) and one `--role worker`, on a fresh
# database of the server OUTREACH_TEST_POSTGRES_URL names, or of a
# throwaway cluster (scripts/with-postgres.sh) removed when Playwright
# stops this script. Both talk to the Twilio simulator Playwright started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${OUTREACH_TEST_POSTGRES_URL:-}" ]; then
  exec "$root/scripts/with-postgres.sh" "$0" "$@"
fi
bin=${OUTREACH_BIN:-$root/target/release/outreach}
port=${E2E_PG_PORT:-3130}

name="outreach_e2e_$$"
psql -q "$OUTREACH_TEST_POSTGRES_URL" -c "CREATE DATABASE $name"
export OUTREACH_DATABASE_URL="${OUTREACH_TEST_POSTGRES_URL%/*}/$name"
export OUTREACH_PASSWORD="end-to-end password"
"$bin" org create --name "Postgres" --subscription active
"$bin" user create --org "Postgres" --email admin@postgres.test --role org-admin
"$bin" user create --org "Postgres" --email campaigner@postgres.test --role campaigner
unset OUTREACH_PASSWORD

export RUST_LOG="${RUST_LOG:-warn}"
OUTREACH_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export OUTREACH_MASTER_KEY
export TWILIO_API_BASE_URL="$E2E_TWILIO_URL"
export TWILIO_MESSAGING_BASE_URL="$E2E_TWILIO_URL"
export OUTREACH_TWILIO_TIMEOUT_SECS=3
export OUTREACH_PUBLIC_URL="http://127.0.0.1:$port"
export LEPTOS_SITE_ROOT="$root/target/site"
LEPTOS_SITE_ADDR="127.0.0.1:$((port + 1))" "$bin" serve --role worker &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT
LEPTOS_SITE_ADDR="127.0.0.1:$port" "$bin" serve --role web
