#!/usr/bin/env bash
# Installs what the README's commands need and skips whatever is already
# here, so a second run takes seconds. `bootstrap.sh run` installs what
# building and serving needs; `bootstrap.sh test` adds the browser and
# PostgreSQL, `bootstrap.sh bench` the load generator.
#
# Versions are pinned on purpose; see ../shared/TOOLCHAIN.md for why each
# stock install command fails on these machines.
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=${1:-test}
CARGO_LEPTOS_VERSION=0.3.10
# wasm-bindgen's CLI must match the library version in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)

step() { printf '==> %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
  step "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes on two cores, once)"
  # 0.3.11's lock needs a newer rustc; LTO off halves the build time.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: its lock pins a webpki-roots the registry no longer has.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# npm: wasm-opt (binaryen) for release builds, Playwright for the specs.
if [ ! -f end2end/node_modules/.package-lock.json ] \
  || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  step "installing the end2end npm packages (Playwright, binaryen)"
  (cd end2end && npm ci --no-audit --no-fund)
fi

if [ "$purpose" = test ] && [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  step "installing Debian's Chromium for the end-to-end specs"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver
fi

# Release builds ship brotli copies of the browser bundle
# (scripts/compress-bundle.sh); `bootstrap.sh bench` adds wrk, with which
# scripts/bench-static.sh loads the server.
tools=(brotli)
[ "$purpose" != bench ] || tools+=(wrk)
for tool in "${tools[@]}"; do
  if ! command -v "$tool" >/dev/null; then
    step "installing Debian's $tool"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "$tool"
  fi
done

# The Rust suite also runs against PostgreSQL (scripts/with-postgres.sh
# starts a throwaway cluster) unless OUTREACH_TEST_POSTGRES_URL names one.
if [ "$purpose" = test ] && [ -z "${OUTREACH_TEST_POSTGRES_URL:-}" ] \
  && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  step "installing Debian's PostgreSQL for the tests on PostgreSQL"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends postgresql
fi
