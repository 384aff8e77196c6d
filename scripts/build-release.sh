#!/usr/bin/env bash
# The release build: `target/release/outreach` and the browser bundles in
# target/site/pkg, with brotli and gzip copies of every file:
# - the app's, split by page (`--split`: each page behind sign-in is its
#   own piece of WASM, fetched when first shown; see app/src/pages.rs);
# - the islands bundle, for the pages served as islands (app::ISLAND_PAGES):
#   only their interactive parts hydrate, so it holds little of the app.
set -euo pipefail
cd "$(dirname "$0")/.."
# wasm-opt is npm's binaryen, installed by scripts/bootstrap.sh.
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo leptos build --release --split

# The islands bundle. Its own target directory: cargo-leptos links the
# app's with `--emit-relocs` (for wasm-split), with which the islands
# bundle kept all of the app (1.7 MB instead of 0.35 after wasm-opt), and a
# flag in RUSTFLAGS counts for every crate: sharing the directory would
# rebuild everything at each switch. (cargo-leptos' LEPTOS_* settings are
# not needed: the WASM reads none of them, only the server does.)
pkg=target/site/pkg
name=outreach-islands
cargo build --package=frontend --lib --target-dir=target/front-islands \
  --target=wasm32-unknown-unknown --no-default-features --features=islands \
  --profile=wasm-release --locked
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
wasm-bindgen --target=web --no-typescript --out-name="$name" --out-dir="$out" \
  target/front-islands/wasm32-unknown-unknown/wasm-release/frontend.wasm
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  "$out/${name}_bg.wasm" -o "$out/$name.wasm"
# Named after their content, as cargo-leptos names the app's (base64url MD5):
# server/src/bundle.rs lets browsers keep such files for good.
hash() { openssl dgst -md5 -binary "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
js_hash=$(hash "$out/$name.js")
wasm_hash=$(hash "$out/$name.wasm")
cp "$out/$name.js" "$pkg/$name.$js_hash.js"
cp "$out/$name.wasm" "$pkg/$name.$wasm_hash.wasm"
# Beside the binary, like cargo-leptos' hash.txt, whose other lines it
# keeps: whichever page Leptos renders first, it finds the split bundle's
# manifest there.
{
  grep -vE '^(js|wasm):' target/release/hash.txt
  echo "js: $js_hash"
  echo "wasm: $wasm_hash"
} >target/release/hash-islands.txt

scripts/compress-bundle.sh
