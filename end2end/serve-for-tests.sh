#!/usr/bin/env bash
# Starts the release `outreach` binary on a fresh database holding the
# organisations and people the specs sign in as. Playwright runs this and
# stops it when the specs are done.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${OUTREACH_BIN:-$root/target/release/outreach}
work=$(mktemp -d -t outreach-e2e.XXXXXX)

export OUTREACH_DATABASE_URL="sqlite://$work/outreach.db?mode=rwc"
export OUTREACH_PASSWORD="end-to-end password"
"$bin" org create --name "Acme" --subscription active
"$bin" user create --org "Acme" --email admin@acme.test --role org-admin
"$bin" user create --org "Acme" --email campaigner@acme.test --role campaigner
"$bin" org create --name "Dormant" --subscription inactive
"$bin" user create --org "Dormant" --email admin@dormant.test --role org-admin
unset OUTREACH_PASSWORD
export RUST_LOG="${RUST_LOG:-warn}"

export LEPTOS_SITE_ADDR="127.0.0.1:${E2E_PORT:-3100}"
export LEPTOS_SITE_ROOT="$root/target/site"
exec "$bin" serve
