#!/usr/bin/env bash
# Starts the release `outreach` binary on a fresh database holding the
# organisations and people the specs sign in as, talking to the Twilio
# simulator that Playwright started first (E2E_TWILIO_URL). Playwright runs
# this and stops it when the specs are done.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${OUTREACH_BIN:-$root/target/release/outreach}
# Specs run the command line against this database (see helpers.ts).
work=${E2E_WORK_DIR:?E2E_WORK_DIR names the directory for the database}
rm -rf "$work"
mkdir -p "$work"

export OUTREACH_DATABASE_URL="sqlite://$work/outreach.db?mode=rwc"
export OUTREACH_PASSWORD="end-to-end password"
"$bin" org create --name "Acme" --subscription active
"$bin" user create --org "Acme" --email admin@acme.test --role org-admin
"$bin" user create --org "Acme" --email campaigner@acme.test --role campaigner
"$bin" org create --name "Dormant" --subscription inactive
"$bin" user create --org "Dormant" --email admin@dormant.test --role org-admin
# One organisation per SMS spec file, so specs running side by side never
# see each other's settings.
for org in configure validate edit nojs; do
  "$bin" org create --name "SMS $org" --subscription active
  "$bin" user create --org "SMS $org" --email "admin@$org.test" --role org-admin
done
# The first-load spec's, with Twilio set up.
"$bin" org create --name "First load" --subscription active
"$bin" user create --org "First load" --email admin@firstload.test --role org-admin
# One organisation per row of the help page's "Impact on Campaigners" table.
for row in one two three four; do
  "$bin" org create --name "Row $row" --subscription active
  "$bin" user create --org "Row $row" --email "admin@row-$row.test" --role org-admin
  "$bin" user create --org "Row $row" --email "campaigner@row-$row.test" --role campaigner
done
# Changing Twilio accounts and disconnecting.
"$bin" org create --name "SMS change" --subscription active
"$bin" user create --org "SMS change" --email admin@change.test --role org-admin
"$bin" user create --org "SMS change" --email campaigner@change.test --role campaigner
# Opt-outs added by hand, and honoured by the campaign wizard.
"$bin" org create --name "Opt-outs" --subscription active
"$bin" user create --org "Opt-outs" --email admin@optouts.test --role org-admin
"$bin" user create --org "Opt-outs" --email campaigner@optouts.test --role campaigner
# Duplicating a campaign.
"$bin" org create --name "Duplicate" --subscription active
"$bin" user create --org "Duplicate" --email admin@duplicate.test --role org-admin
"$bin" user create --org "Duplicate" --email campaigner@duplicate.test --role campaigner
# Scheduling a campaign in the wizard, and unscheduling it.
"$bin" org create --name "Schedules" --subscription active
"$bin" user create --org "Schedules" --email admin@schedules.test --role org-admin
"$bin" user create --org "Schedules" --email campaigner@schedules.test --role campaigner
# Test messages from the wizard.
"$bin" org create --name "Test sends" --subscription active
"$bin" user create --org "Test sends" --email admin@testsends.test --role org-admin
"$bin" user create --org "Test sends" --email campaigner@testsends.test --role campaigner
# Quiet hours, and an exemption from them.
"$bin" org create --name "Quiet hours" --subscription active
"$bin" user create --org "Quiet hours" --email admin@quiethours.test --role org-admin
"$bin" user create --org "Quiet hours" --email campaigner@quiethours.test --role campaigner
# Contacts and lists, a campaign to a list, and a reply.
"$bin" org create --name "Contacts" --subscription active
"$bin" user create --org "Contacts" --email admin@contacts.test --role org-admin
"$bin" user create --org "Contacts" --email campaigner@contacts.test --role campaigner
# Team management: invitations, and a person disabled while their page is open.
"$bin" org create --name "Team" --subscription active
"$bin" user create --org "Team" --email admin@team.test --role org-admin
"$bin" user create --org "Team" --email open-page@team.test --role campaigner
# A subscription withdrawn and granted again while a campaign runs.
"$bin" org create --name "Lapsing" --subscription active
"$bin" user create --org "Lapsing" --email admin@lapsing.test --role org-admin
"$bin" user create --org "Lapsing" --email campaigner@lapsing.test --role campaigner
# The campaign controls spec (pause, resume, cancel).
"$bin" org create --name "Controls" --subscription active
"$bin" user create --org "Controls" --email admin@controls.test --role org-admin
"$bin" user create --org "Controls" --email campaigner@controls.test --role campaigner
# The campaign forms spec (errors under their fields).
"$bin" org create --name "Forms" --subscription active
"$bin" user create --org "Forms" --email admin@forms.test --role org-admin
"$bin" user create --org "Forms" --email campaigner@forms.test --role campaigner
unset OUTREACH_PASSWORD

export RUST_LOG="${RUST_LOG:-warn}"
OUTREACH_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export OUTREACH_MASTER_KEY
export TWILIO_API_BASE_URL="$E2E_TWILIO_URL"
export TWILIO_MESSAGING_BASE_URL="$E2E_TWILIO_URL"
export OUTREACH_TWILIO_TIMEOUT_SECS=3
export LEPTOS_SITE_ADDR="127.0.0.1:${E2E_PORT:-3100}"
export LEPTOS_SITE_ROOT="$root/target/site"
exec "$bin" serve
