#!/usr/bin/env bash
# The release build: `target/release/outreach` and the browser bundle in
# target/site/pkg, split by page (`--split`: each page behind sign-in is its
# own piece of WASM, fetched when first shown; see app/src/pages.rs), with
# brotli and gzip copies of every piece.
set -euo pipefail
cd "$(dirname "$0")/.."
# wasm-opt is npm's binaryen, installed by scripts/bootstrap.sh.
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo leptos build --release --split
scripts/compress-bundle.sh
