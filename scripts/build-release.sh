#!/usr/bin/env bash
# The release build: `target/release/outreach` and the browser bundles in
# target/site/pkg, with brotli and gzip copies of every file:
# - the app's, split by page (`--split`: each page behind sign-in is its
#   own piece of WASM, fetched when first shown; see app/src/pages.rs);
# - the islands bundle, for the pages served as islands (app::ISLAND_PAGES):
#   only their interactive parts hydrate, each island a piece of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
# wasm-opt is npm's binaryen, installed by scripts/bootstrap.sh.
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo leptos build --release --split --project=outreach

# The islands bundle (the workspace manifest's second project), split too:
# each island is a part of its own. Only its front end: the server is the
# one just built. Its site is its own because cargo-leptos empties a site
# before building into it; the files, named after their content, join the
# app's. Its JS names its parts itself, so the server needs only its js and
# wasm lines: the rest of hash-islands.txt is hash.txt's, because Leptos
# reads the split manifest once, from whichever page renders first.
cargo leptos build --release --split --project=outreach-islands --frontend-only
find target/site-islands/pkg -maxdepth 1 -type f ! -name '*.css' -exec cp {} target/site/pkg/ \;
islands=$(grep -E '^(js|wasm):' target/release/hash-islands.txt)
{
  grep -vE '^(js|wasm):' target/release/hash.txt
  echo "$islands"
} >target/release/hash-islands.txt

scripts/compress-bundle.sh
