#!/usr/bin/env bash
# The public API, checked: rustdoc's JSON output (nightly, every feature) turned into a sorted
# listing of every public path and signature by .ci/public_api.py, compared with the committed
# public-api.txt. A difference fails with the diff: a change to the public surface is made on
# purpose, and shows in review. To accept one, run `BLESS=1 bash .ci/public-api.sh` and commit
# public-api.txt with the change.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
cargo +nightly rustdoc --quiet --locked --lib --all-features -- -Z unstable-options --output-format json
listing="$(mktemp)"
trap 'rm -f "$listing"' EXIT
python3 .ci/public_api.py "$target/doc/tower_api_errors.json" > "$listing"

if [[ "${BLESS:-}" == 1 ]]; then
    cp "$listing" public-api.txt
    echo "public-api.txt: $(wc -l < public-api.txt) lines written"
elif ! diff -u public-api.txt "$listing"; then
    echo "The public API differs from public-api.txt (above: - committed, + now)." >&2
    echo "If the change is meant, run: BLESS=1 bash .ci/public-api.sh, and commit public-api.txt." >&2
    exit 1
else
    echo "public API: as in public-api.txt ($(wc -l < public-api.txt) lines)"
fi
