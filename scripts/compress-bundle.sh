#!/usr/bin/env bash
# Makes brotli (.br) and gzip (.gz) copies of the browser bundle that
# `cargo leptos build --release --split` just wrote to target/site/pkg, for
# the server to send as they are (see server/src/bundle.rs): the best
# compression, paid once per build instead of once per request.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=${LEPTOS_SITE_ROOT:-target/site}/${LEPTOS_SITE_PKG_DIR:-pkg}
# Every piece of the bundle: the main JavaScript and WASM, the stylesheet,
# and with `--split` each page's WASM and the loader that fetches them.
# Pieces of earlier builds still here already have their copies.
shopt -s nullglob
files=("$pkg"/*.js "$pkg"/*.wasm "$pkg"/*.css)
# Without brotli (scripts/bootstrap.sh installs it) browsers get gzip.
has_brotli=true
command -v brotli >/dev/null || {
  has_brotli=false
  echo "brotli is not installed: making gzip copies only" >&2
}
for file in "${files[@]}"; do
  [ -e "$file" ] || continue
  # Already made from this very file: a copy is no older than it (gzip
  # gives the copy the file's time; the brotli copy gets its own).
  fresh() { [ -e "$1" ] && ! [ "$file" -nt "$1" ]; }
  { fresh "$file.br" || ! $has_brotli; } && fresh "$file.gz" && continue
  if $has_brotli; then
    brotli --best --force --keep --no-copy-stat --output="$file.br" "$file"
  else
    # Never an old build's brotli copy beside a new file.
    rm -f "$file.br"
  fi
  gzip --best --force --keep --no-name "$file"
  echo "compressed $file: $(stat -c %s "$file") bytes, brotli $(stat -c %s "$file.br" 2>/dev/null || echo none), gzip $(stat -c %s "$file.gz")"
done
