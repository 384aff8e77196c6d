#!/usr/bin/env bash
# `make run`: builds the release binary and WASM bundle, then serves Outreach
# in demo mode on http://127.0.0.1:3000 and prints how to sign in.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

scripts/bootstrap.sh run
scripts/build-release.sh
exec target/release/outreach serve --demo
