#!/usr/bin/env bash
# `make test`: every check CI runs. Each step runs even if an earlier one
# failed (the end-to-end specs need the release build); the last line counts
# tests and failed checks: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

if ! scripts/bootstrap.sh test; then
  echo "bootstrap failed: see above"
  echo "0 passed, 1 failed"
  exit 1
fi

logs=target/test-logs
mkdir -p "$logs"
passed=0
failed=0
summary=()

# Adds the tests counted in a log: cargo's "test result:" lines and
# Playwright's closing "N passed" / "N failed" lines.
count_tests() {
  local log=$1 p f
  p=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{ s += $4 } END { print s + 0 }')
  f=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | awk '{ s += $6 } END { print s + 0 }')
  p=$((p + $(grep -Eo '^ +[0-9]+ passed' "$log" | awk '{ s += $1 } END { print s + 0 }')))
  f=$((f + $(grep -Eo '^ +[0-9]+ failed' "$log" | awk '{ s += $1 } END { print s + 0 }')))
  echo "$p $f"
}

# step NAME KIND COMMAND...: KIND is "check" (counts as one) or "tests".
step() {
  local name=$1 kind=$2
  shift 2
  printf '\n==> %s: %s\n' "$name" "$*"
  local log="$logs/$name.log" status
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  if [ "$kind" = tests ]; then
    read -r p f < <(count_tests "$log")
    passed=$((passed + p))
    failed=$((failed + f))
    # A run that failed without a failing test (it did not compile, say).
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
  elif [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  if [ "$status" -eq 0 ]; then summary+=("ok      $name"); else summary+=("FAILED  $name"); fi
  return "$status"
}

step fmt check cargo fmt --all --check
step clippy-server check cargo clippy -p model -p domain -p app -p server -p twilio-simulator --all-targets --locked -- -D warnings
step clippy-wasm check cargo clippy -p frontend -p app --target wasm32-unknown-unknown --locked -- -D warnings
step clippy-islands check cargo clippy -p frontend --target wasm32-unknown-unknown --no-default-features --features islands --locked -- -D warnings
step rust-tests tests cargo test -p model -p domain -p twilio-simulator -p server --locked
# The same domain and server tests on PostgreSQL: a throwaway cluster, or
# the server OUTREACH_TEST_POSTGRES_URL names.
step rust-tests-postgres tests scripts/with-postgres.sh \
  cargo test -p domain -p server --locked
step app-tests tests cargo test -p app --features ssr --locked
if step release-build check scripts/build-release.sh; then
  # One tenant's largest payloads against the real release binary, while
  # another organisation sends (see server/tests/hostile_tenant.rs).
  step hostile-tenant tests env OUTREACH_BIN="$PWD/target/release/outreach" \
    cargo test -p server --test hostile_tenant --locked -- --ignored --nocapture
  step end2end tests bash -c 'cd end2end && npx playwright test'
else
  summary+=("SKIPPED hostile-tenant and end2end (no release build)")
  failed=$((failed + 2))
fi

# What failed, in a few lines each, just above the summary: CI shows only
# the end of a run's output, and the full logs stay in target/test-logs.
for line in "${summary[@]}"; do
  case $line in
    FAILED*)
      name=${line#FAILED  }
      printf '\n--- %s (target/test-logs/%s.log):\n' "$name" "$name"
      grep -v '^ *$' "$logs/$name.log" | grep -E -A6 '^ +Error:|panicked at|^error(\[E[0-9]+\])?:' | head -12
      ;;
  esac
done
printf '\n'
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
