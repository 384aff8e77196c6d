#!/usr/bin/env bash
# Makes brotli (.br) and gzip (.gz) copies of the browser bundle that
# `cargo leptos build --release` just wrote to target/site/pkg (the files
# named in target/release/hash.txt), for the server to send as they are
# (see server/src/bundle.rs): the best compression, paid once per build
# instead of once per request.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=${LEPTOS_SITE_ROOT:-target/site}/${LEPTOS_SITE_PKG_DIR:-pkg}
hashes=target/release/hash.txt
name=${LEPTOS_OUTPUT_NAME:-outreach}
files=()
if [ -f "$hashes" ]; then
  while IFS=: read -r kind hash; do
    hash=${hash// /}
    case $kind in js | wasm | css) files+=("$pkg/$name.$hash.$kind") ;; esac
  done <"$hashes"
else
  files=("$pkg/$name.js" "$pkg/${name}_bg.wasm" "$pkg/$name.wasm" "$pkg/$name.css")
fi
for file in "${files[@]}"; do
  [ -e "$file" ] || continue
  # Already made from this very file.
  [ "$file.br" -nt "$file" ] && [ "$file.gz" -nt "$file" ] && continue
  brotli --best --force --keep --output="$file.br" "$file"
  gzip --best --force --keep --no-name "$file"
  echo "compressed $file: $(stat -c %s "$file") bytes, brotli $(stat -c %s "$file.br"), gzip $(stat -c %s "$file.gz")"
done
