#!/usr/bin/env bash
# Outside tools on the running demo's wire, next to the HTTP/1.1 checks of .ci/conformance.sh:
#
#   1. probes over h2c (curl --http2-prior-knowledge) and HTTP/1.1 alike: `OPTIONS *` (204 with
#      `Allow`), HEAD of a route (no body) and of an error (the GET's headers), a refused method
#      (405 with `Allow`), a planned one (501 with `Allow` and `Cache-Control: no-store`), an
#      unrecognized one (501); both protocols must give the same status and headers;
#   2. `promtool check metrics` on GET /metrics (the demo built with `--features metrics`)
#      after error traffic (404, 405, 501, 500, 504), so that every series the layer writes has
#      what promtool asks for (`# HELP`, units in the name).
#
# promtool comes from Debian's `prometheus` package (installed with apt when missing, at the
# version pinned below: GitHub's release tarballs are out of reach here); curl must have HTTP/2
# (nghttp2), as Debian's has. Usage, from anywhere: bash .ci/wire.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PROMETHEUS_DEBIAN_VERSION=2.42.0+ds-5+b6

if ! command -v promtool >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "prometheus=$PROMETHEUS_DEBIAN_VERSION"
fi
curl --version | grep -q 'nghttp2' || { echo "curl without HTTP/2" >&2; exit 1; }

work=target/wire
mkdir -p "$work"
cargo build --example demo --features metrics
demo_bin=${CARGO_TARGET_DIR:-target}/debug/examples/demo
source .ci/demo.sh
start_demo demo --timeout-ms 200

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# head PROTOCOL ARGS...: the response head, lower-cased, without `date` (it differs by the
# second) and `content-length` of bodies curl did not ask for.
head_of() {
    local protocol=$1
    shift
    curl --silent --show-error --max-time 10 "$protocol" --output /dev/null --dump-header - "$@" |
        tr -d '\r' | tr 'A-Z' 'a-z' | grep -v '^date:' | grep -v '^$' | sort
}

# probe NAME STATUS [HEADER...] -- CURL-ARGS...: the same status and headers over HTTP/1.1
# and h2c, with each expected `name: value` line present.
probe() {
    local name=$1 status=$2
    shift 2
    local expected=()
    while [[ $1 != -- ]]; do
        expected+=("$1")
        shift
    done
    shift
    local h1 h2
    h1=$(head_of --http1.1 "$@")
    h2=$(head_of --http2-prior-knowledge "$@")
    grep -q "^http/1.1 $status" <<<"$h1" || fail "$name over HTTP/1.1: not $status: $h1"
    grep -q "^http/2 $status" <<<"$h2" || fail "$name over h2c: not $status: $h2"
    local line
    for line in "${expected[@]}"; do
        grep -qxF "$line" <<<"$h1" || fail "$name over HTTP/1.1: no \`$line\`: $h1"
        grep -qxF "$line" <<<"$h2" || fail "$name over h2c: no \`$line\`: $h2"
    done
    # Beyond the status line and `connection` (HTTP/1.1 only), the heads are the same.
    diff <(grep -v '^http/\|^connection:' <<<"$h1") <(grep -v '^http/' <<<"$h2") >/dev/null ||
        fail "$name: HTTP/1.1 and h2c heads differ: $h1 // $h2"
    echo "ok: $name ($status, HTTP/1.1 and h2c)"
}

echo "== probes over HTTP/1.1 and h2c (curl $(curl --version | head -1 | cut -d' ' -f2))"
probe "OPTIONS *" 204 "allow: get, head, post, put, delete, options" -- \
    -X OPTIONS --request-target '*' "$addr"
probe "HEAD /health" 200 "content-type: application/json" -- --head "$addr/health"
probe "HEAD of a 404" 404 "content-type: application/json" -- --head "$addr/notes/1"
probe "405 refused" 405 "allow: get, head, options" "content-type: application/json" -- \
    -X POST "$addr/reports/1234/result"
probe "501 planned" 501 "allow: get, head, options" "cache-control: no-store" -- \
    -X POST "$addr/payments"
probe "501 unrecognized" 501 "content-type: application/json" -- -X BREW "$addr/payments"

echo "== promtool check metrics ($(promtool --version 2>&1 | head -1))"
for path in /notes/1 /nowhere /panic "/slow?ms=1000"; do
    curl --silent --output /dev/null "$addr$path"
done
curl --silent --output /dev/null -X POST "$addr/reports/1234/result"
curl --silent --output /dev/null -X POST "$addr/payments"
metrics=$work/metrics.txt
curl --silent --show-error --fail "$addr/metrics" -o "$metrics"
for series in api_errors_total api_in_flight api_concurrency_limit; do
    grep -q "^$series" "$metrics" || fail "no $series in /metrics"
done
promtool check metrics <"$metrics" || fail "promtool check metrics"
echo "ok: promtool check metrics ($(grep -c '^api_' "$metrics") api_ samples)"

if ((failures > 0)); then
    echo "$failures failures" >&2
    exit 1
fi
