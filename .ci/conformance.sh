#!/usr/bin/env bash
# HTTP conformance of the demo (examples/demo) against its OpenAPI description, generated from
# the code (utoipa annotations on the handlers + tower_api_errors::openapi::ErrorResponses from
# the layer's configuration) and served by the demo as GET /openapi.json:
#
#   1. builds the demo and serves it on 127.0.0.1, port 0;
#   2. probes a handful of error responses (400, 401, 403, 404, 405, 413, 415, 422, 500, 501
#      planned and unrecognized, 503 overloaded and maintenance, 504, HEAD, OPTIONS,
#      x-request-id, problem+json), checks their headers (RFC 9110), and validates each body
#      with check-jsonschema against schema/error.schema.json or schema/problem.schema.json;
#   3. runs schemathesis against the running demo with all its checks (status codes, response
#      schemas, content types, response headers, 405 + Allow for undeclared methods, auth
#      enforcement, positive/negative data, stateful links), the documented 501/503/504 being
#      accepted statuses;
#   4. runs it again with `Accept: application/problem+json` (every error is then a problem
#      document), with each of the demo's other shapes (AIP-193, JSON:API; their probes are
#      validated against schema/aip193.schema.json and schema/json-api.schema.json), and once
#      more with maintenance switched on (every response a 503 with
#      Retry-After, /health and /admin/* excepted).
#
# Needs only the Rust toolchain and python3 (with venv and pip): everything else is installed,
# pinned, into a virtualenv under target/ (git-ignored). Exits non-zero on any failed check.
# Usage, from anywhere: bash .ci/conformance.sh
# Env: CONFORMANCE_MAX_EXAMPLES (default 50), CONFORMANCE_SEED (default fixed, for a
# reproducible CI; set CONFORMANCE_SEED=random to explore).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
CHECK_JSONSCHEMA_VERSION=0.39.0
MAX_EXAMPLES=${CONFORMANCE_MAX_EXAMPLES:-50}
SEED=${CONFORMANCE_SEED:-20261125}
# The demo's deadline; /slow's `ms` is at most 3000 in its document, so no request waits longer.
TIMEOUT_MS=2000
# The whole test part (servers, probes, the schemathesis runs) is bounded by this many seconds;
# building the demo and installing the venv come before and are not counted.
BUDGET=900

work=target/conformance
venv=target/conformance-venv
mkdir -p "$work"
started=$SECONDS

log() { printf '\n== %s\n' "$*"; }

# --- tools ---------------------------------------------------------------------------------------
log "virtualenv $venv: schemathesis $SCHEMATHESIS_VERSION, check-jsonschema $CHECK_JSONSCHEMA_VERSION"
source .ci/venv.sh
pinned_venv "$venv" \
    "schemathesis==$SCHEMATHESIS_VERSION" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
py=$venv/bin/python
"$venv/bin/schemathesis" --version

# --- the demo ------------------------------------------------------------------------------------
log "cargo build --example demo"
demo_bin=$(cargo build --example demo --message-format=json-render-diagnostics |
    "$py" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "demo" and m.get("executable"):
        print(m["executable"])
')
[[ -x $demo_bin ]] || { echo "no demo executable" >&2; exit 1; }

deadline=$((SECONDS + BUDGET))
# Seconds left of the budget, for `timeout`; at least 1, so that a spent budget ends the next
# command at once (exit 124) instead of passing `timeout` an invalid duration.
remaining() {
    local left=$((deadline - SECONDS))
    echo $((left > 0 ? left : 1))
}

# start_demo NAME ARGS... (sets $addr), every demo stopped at exit.
source .ci/demo.sh

# The main instance: an in-flight limit far above schemathesis' concurrency, so that a 503
# `overloaded` (documented everywhere, but not what is under test here) never shows up.
start_demo demo --max-in-flight 10000 --timeout-ms "$TIMEOUT_MS"
main=$addr
# A second instance that admits one request at a time, to observe a real `overloaded`.
start_demo demo-overload --max-in-flight 1 --timeout-ms "$TIMEOUT_MS" --retry-after 2
overload=$addr
echo "demo on $main, single-slot demo on $overload"

# --- error bodies, one by one --------------------------------------------------------------------
log "probes: status, headers, bodies"
probes=$work/probes
rm -rf "$probes"
mkdir -p "$probes/error" "$probes/problem"
timeout "$(remaining)" "$py" - "$main" "$overload" "$probes" <<'PY'
"""Sends one request per documented error, checks its status and headers (RFC 9110), and
writes each body to PROBES/{error,problem}/NAME.json for check-jsonschema."""
import http.client, json, re, sys, threading, time
from urllib.parse import urlsplit

main, overload, out = sys.argv[1], sys.argv[2], sys.argv[3]
TOKEN = "demo-token"
failures = []


def request(base, method, path, headers=None, body=None, declared=None):
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        if declared is None:
            conn.request(method, path, body=body, headers=headers or {})
        else:
            # Only the head, declaring `declared` bytes: the answer must not wait for them.
            conn.putrequest(method, path)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.putheader("content-length", str(declared))
            conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def probe(name, method, path, status, headers=None, body=None, base=None, fmt="error", expect=None, declared=None):
    got, hdrs, data = request(base or main, method, path, headers, body, declared)
    problems = []
    if got != status:
        problems.append(f"status {got}, expected {status}")
    want_type = "application/problem+json" if fmt == "problem" else "application/json"
    if method != "HEAD":
        if hdrs.get("content-type") != want_type:
            problems.append(f"content-type {hdrs.get('content-type')!r}, expected {want_type}")
        if data:
            with open(f"{out}/{fmt}/{name}.json", "wb") as f:
                f.write(data)
            try:
                doc = json.loads(data)
                if got >= 400 and doc.get("status") != got:
                    problems.append(f"body status {doc.get('status')} != HTTP {got}")
                if "allow" in hdrs and doc.get("allowed") != [m.strip() for m in hdrs["allow"].split(",")]:
                    problems.append(f"allowed {doc.get('allowed')} != Allow {hdrs['allow']!r}")
                if "retry-after" in hdrs and str(doc.get("retry_after")) != hdrs["retry-after"]:
                    problems.append(f"retry_after {doc.get('retry_after')} != Retry-After {hdrs['retry-after']!r}")
                # x-request-id is echoed as request_id when it is a safe token, never otherwise.
                sent = (headers or {}).get("x-request-id")
                safe = sent is not None and re.fullmatch(r"[A-Za-z0-9._:+/=-]{1,64}", sent)
                if got >= 400 and doc.get("request_id") != (sent if safe else None):
                    problems.append(f"request_id {doc.get('request_id')!r} for x-request-id {sent!r}")
            except ValueError as e:
                problems.append(f"body is not JSON: {e}")
        else:
            problems.append("empty body")
    # RFC 9110 §15.5.6: a 405 MUST have Allow; §11.6.1: a 401 MUST have WWW-Authenticate;
    # §10.2.3: Retry-After is an HTTP-date or delta-seconds (this layer sends delta-seconds).
    if got == 405 and not re.fullmatch(r"[A-Z]+(, [A-Z]+)*", hdrs.get("allow", "")):
        problems.append(f"405 with Allow {hdrs.get('allow')!r}")
    if got == 401 and not hdrs.get("www-authenticate", "").startswith("Bearer"):
        problems.append(f"401 with WWW-Authenticate {hdrs.get('www-authenticate')!r}")
    if got == 503 and not re.fullmatch(r"[0-9]+", hdrs.get("retry-after", "")):
        problems.append(f"503 with Retry-After {hdrs.get('retry-after')!r}")
    if got >= 500 and b"secret-internal-state" in data:
        problems.append("internal text in a 5xx body")
    for header, value in (expect or {}).items():
        if hdrs.get(header) != value:
            problems.append(f"{header}: {hdrs.get(header)!r}, expected {value!r}")
    verdict = "ok  " if not problems else "FAIL"
    print(f"{verdict} {name:<24} {method} {path} -> {got} {hdrs.get('content-type', '')}")
    for p in problems:
        print(f"       {p}")
        failures.append(f"{name}: {p}")
    return got, hdrs, data


json_body = {"content-type": "application/json"}
rid = {"x-request-id": "conformance-1"}
probe("405_report", "POST", "/reports/1234/result", 405,
      expect={"allow": "GET, HEAD, OPTIONS"})
probe("405_trace_health", "TRACE", "/health", 405, headers=rid, expect={"allow": "GET, HEAD, OPTIONS"})
probe("405_get_admin", "GET", "/admin/maintenance", 405, expect={"allow": "PUT, DELETE, OPTIONS"})
probe("501_planned_payments", "POST", "/payments", 501,
      expect={"allow": "GET, HEAD, OPTIONS", "cache-control": "no-store"})
probe("501_planned_notes", "GET", "/notes", 501, expect={"allow": "POST, OPTIONS", "cache-control": "no-store"})
probe("501_brew", "BREW", "/payments", 501)
probe("501_lowercase_get", "get", "/health", 501)
probe("401_private", "GET", "/private", 401)
probe("403_private", "GET", "/private", 403, headers={"authorization": "Bearer wrong"})
probe("404_note", "GET", "/notes/1", 404, headers=rid)
probe("404_no_route", "GET", "/no/such/path", 404)
probe("400_missing_param", "POST", "/notes", 400, headers=json_body, body=b'{"body":"no customer"}')
probe("400_bad_json", "POST", "/notes", 400, headers=json_body, body=b'{"customer_id":')
probe("400_bad_path", "GET", "/notes/abc", 400)
probe("415_no_json", "POST", "/notes", 415, body=b'{"customer_id":1,"body":"x"}')
probe("400_wrong_type", "POST", "/notes", 400, headers=json_body, body=b'{"customer_id":"x","body":"x"}')
probe("422_fraction", "POST", "/notes", 422, headers=json_body, body=b'{"customer_id":1.5,"body":"x"}')
probe("500_panic", "GET", "/panic", 500)
probe("504_slow", "GET", "/slow?ms=5000", 504)
probe("500_panic", "GET", "/panic", 500, headers={"accept": "application/problem+json"}, fmt="problem")
probe("405_report", "POST", "/reports/1234/result", 405, headers={"accept": "application/problem+json"},
      fmt="problem")
probe("request_id_unsafe", "GET", "/notes/1", 404, headers={"x-request-id": "a b<script>"})
probe("request_id_too_long", "GET", "/notes/1", 404, headers={"x-request-id": "a" * 65})
probe("request_id_longest", "GET", "/notes/1", 404, headers={"x-request-id": "a" * 64})
# A body over the demo's limit (RequestBodyLimitLayer inside the layer) is refused from its
# declared length, before it is sent.
probe("413_too_large", "POST", "/notes", 413, headers=json_body, declared=3_000_000)
probe("404_note", "GET", "/notes/1", 404, headers={"accept": "application/problem+json"}, fmt="problem")

# HEAD: same status and headers as GET, no body (RFC 9110 §9.3.2).
for path in ("/panic", "/notes/1", "/health"):
    g_status, g_hdrs, _ = request(main, "GET", path)
    h_status, h_hdrs, h_body = request(main, "HEAD", path)
    same = {k: v for k, v in g_hdrs.items() if k != "date"} == {k: v for k, v in h_hdrs.items() if k != "date"}
    ok = h_status == g_status and same and not h_body
    print(f"{'ok  ' if ok else 'FAIL'} head{path.replace('/', '_'):<20} HEAD {path} -> {h_status}")
    if not ok:
        failures.append(f"HEAD {path}: {h_status} {h_hdrs} {h_body[:80]!r} vs GET {g_status} {g_hdrs}")

# OPTIONS: 204 with Allow.
for path, allow in (("/payments", "GET, HEAD, OPTIONS"), ("/notes", "POST, OPTIONS")):
    status, hdrs, body = request(main, "OPTIONS", path)
    ok = status == 204 and hdrs.get("allow") == allow and not body
    print(f"{'ok  ' if ok else 'FAIL'} options{path.replace('/', '_'):<17} OPTIONS {path} -> {status} allow={hdrs.get('allow')!r}")
    if not ok:
        failures.append(f"OPTIONS {path}: {status} {hdrs}")

# 503 overloaded: the single slot of the second demo is taken by a slow request.
slow = threading.Thread(target=request, args=(overload, "GET", "/slow?ms=1500"))
slow.start()
time.sleep(0.5)
probe("503_overloaded", "GET", "/payments", 503, base=overload, expect={"retry-after": "2"})
# /health is critical: the limit never refuses it.
status, _, _ = request(overload, "GET", "/health")
print(f"{'ok  ' if status == 200 else 'FAIL'} health_overloaded        GET /health -> {status}")
if status != 200:
    failures.append(f"GET /health while overloaded: {status}")
slow.join()

# 503 maintenance: switched on and off through the admin routes.
auth = {"authorization": f"Bearer {TOKEN}"}
status, _, _ = request(main, "PUT", "/admin/maintenance", auth)
assert status == 200, f"PUT /admin/maintenance: {status}"
try:
    probe("503_maintenance", "GET", "/payments", 503, expect={"retry-after": "1"})
    probe("503_maintenance", "GET", "/notes/1", 503, headers={"accept": "application/problem+json"},
          fmt="problem", expect={"retry-after": "1"})
    probe("200_health_maint", "GET", "/health", 200)
finally:
    status, _, _ = request(main, "DELETE", "/admin/maintenance", auth)
    assert status == 200, f"DELETE /admin/maintenance: {status}"

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
PY
# The 200 probe wrote a success body; only error bodies are validated.
rm -f "$probes/error/200_"*.json
log "check-jsonschema: $(ls "$probes/error" | wc -l) error bodies, $(ls "$probes/problem" | wc -l) problem documents"
timeout "$(remaining)" "$venv/bin/check-jsonschema" --schemafile schema/error.schema.json "$probes"/error/*.json
timeout "$(remaining)" "$venv/bin/check-jsonschema" --schemafile schema/problem.schema.json "$probes"/problem/*.json

# The built-in shapes the demo offers: the same errors in each, by Accept, validated against
# schema/aip193.schema.json and schema/json-api.schema.json.
log "probes: the AIP-193 and JSON:API shapes"
mkdir -p "$probes/aip193" "$probes/json-api"
timeout "$(remaining)" "$py" - "$main" "$probes" <<'PY'
import http.client, json, sys
from urllib.parse import urlsplit

main, out = sys.argv[1], sys.argv[2]
SHAPES = {"aip193": "application/vnd.google.rpc.status+json", "json-api": "application/vnd.api+json"}
REQUESTS = [
    ("405", "POST", "/reports/1234/result", None),
    ("501_planned", "POST", "/payments", None),
    ("501_brew", "BREW", "/payments", None),
    ("401", "GET", "/private", None),
    ("404", "GET", "/notes/1", None),
    ("400_missing", "POST", "/notes", b'{"body":"no customer"}'),
    ("400_syntax", "POST", "/notes", b'{"customer_id":'),
    ("422", "POST", "/notes", b'{"customer_id":1.5,"body":"x"}'),
    ("500", "GET", "/panic", None),
]
failures = 0
url = urlsplit(main)
for shape, media_type in SHAPES.items():
    for name, method, path, body in REQUESTS:
        headers = {"accept": media_type, "x-request-id": "conformance-shape"}
        if body is not None:
            headers["content-type"] = "application/json"
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        ok = resp.status >= 400 and resp.getheader("content-type") == media_type
        ok = ok and resp.getheader("content-length") == str(len(data))
        print(f"{'ok  ' if ok else 'FAIL'} {shape:<9} {name:<12} {method} {path} -> {resp.status} {resp.getheader('content-type')}")
        failures += not ok
        with open(f"{out}/{shape}/{name}.json", "wb") as f:
            f.write(data)
sys.exit(1 if failures else 0)
PY
timeout "$(remaining)" "$venv/bin/check-jsonschema" --schemafile schema/aip193.schema.json "$probes"/aip193/*.json
timeout "$(remaining)" "$venv/bin/check-jsonschema" --schemafile schema/json-api.schema.json "$probes"/json-api/*.json

# --- schemathesis --------------------------------------------------------------------------------
# What the command line can't say: per-operation settings and the reasons for each deviation
# from the defaults.
config=$work/schemathesis.toml
cat >"$config" <<'TOML'
# Generated by .ci/conformance.sh; edit it there.

# No state carried from one run to the next (and no .schemathesis/ in the repo): a CI run
# depends on the seed alone.
[cache]
enabled = false

# A warning (an unresolvable $ref, a schema the responses contradict…) fails the run too.
[warnings]
fail-on = true

# A 501 (planned or unrecognized method), a 503 (overload, maintenance) and a 504 (deadline) are
# documented statuses of this API, not server errors. A 500 is one only on /panic (below).
[checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "501", "503", "504"]

# A deadline the client sets (`x-request-timeout-ms`, documented) can pass while the body is
# still arriving, whatever the body holds: `408` (the demo has SlowClientLayer inside) is then
# the answer to valid and invalid data alike, before the handler could read it.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "408", "409", "415", "422", "428", "429", "5xx"]
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "408", "409", "429", "5xx"]

# schemathesis probes every method a path does not document, QUERY included, and expects 405
# with Allow: the layer recognizes RFC 9110's methods, PATCH and QUERY, so a resource that does
# not take one answers 405 (any other method is 501 on every path, RFC 9110 §9.1; the probes
# above check that with BREW and lowercase get).

[[operations]]
include-path = "/panic"
[operations.checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "500", "501", "503", "504"]

# The paths that document a *planned* method (501): `Allow` lists what works today only
# (RFC 9110 §10.2.1: the methods the resource supports), so OPTIONS' Allow leaves the planned
# method out although this file documents it; schemathesis' allow_header_conformance wants every
# documented method in it. The 501's own `Allow` (and `Cache-Control: no-store`) is checked
# against the document by response_headers_conformance.
[[operations]]
include-path = ["/notes", "/notes/{id}", "/payments"]
[operations.checks.allow_header_conformance]
enabled = false

# The right token for /private, so that its 200 is reached too; ignored_auth then replays each
# request without it and with a wrong one, expecting 401/403.
[[operations]]
include-path = "/private"
headers = { Authorization = "Bearer demo-token" }

# /admin/maintenance gets no token: switching maintenance on in the middle of the run would turn
# every later answer into a 503 (the maintenance run below covers that state). So it only ever
# answers 401/403, which is what schemathesis' `missing_auth` warning is about.
[[operations]]
include-path = "/admin/maintenance"
warnings = false
TOML

seed_args=()
[[ $SEED == random ]] || seed_args=(--seed "$SEED")
# Hypothesis keeps its own files (unicode tables, constants) in .hypothesis/ of the current
# directory unless told otherwise.
export HYPOTHESIS_STORAGE_DIRECTORY=$work/hypothesis
# The document under test is the one the demo serves: what the code says, not a copy.
spec=$work/openapi.json
"$py" - "$main" "$spec" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(f"{sys.argv[1]}/openapi.json", timeout=10) as resp:
    assert resp.status == 200, resp.status
    doc = json.load(resp)
assert doc["openapi"].startswith("3.1"), doc["openapi"]
with open(sys.argv[2], "w") as f:
    json.dump(doc, f, indent=1)
print(f"GET /openapi.json: {len(doc['paths'])} paths")
PY
st=("$venv/bin/schemathesis" --config-file "$config" run "$spec" --url "$main")
common=(
    # No --checks: schemathesis 4 runs all its checks by default, and a check named on the
    # command line would override the per-operation settings of the config file.
    # Nothing of this API should take longer than its deadline (plus slack for a busy machine).
    --max-response-time 10
    --request-timeout 15
    --generation-database none
    --no-color
    "${seed_args[@]}"
)

log "schemathesis: all phases, all checks, at most $MAX_EXAMPLES examples per operation"
timeout "$(remaining)" "${st[@]}" \
    "${common[@]}" \
    --max-examples "$MAX_EXAMPLES" \
    --workers 2 \
    --report junit --report-junit-path "$work/schemathesis-junit.xml"

# The same API in the other error format: every error is then an RFC 9457 problem document,
# validated against schema/problem.schema.json (`#/components/schemas/Problem`).
# The stateful phase follows the link from a created note to GET /notes/{id}, which would
# otherwise only ever see ids that do not exist (a warning, and warnings fail the run).
log "schemathesis: Accept: application/problem+json"
timeout "$(remaining)" "${st[@]}" \
    "${common[@]}" \
    --header 'Accept: application/problem+json' \
    --phases coverage,fuzzing,stateful \
    --max-examples 10 \
    --workers 2

# And in each built-in shape the demo offers: every error is then a google.rpc.Status
# (`#/components/schemas/Error_application_vnd.google.rpc.status_json`) or JSON:API error
# objects, as the document describes for each error response.
for media_type in application/vnd.google.rpc.status+json application/vnd.api+json; do
    log "schemathesis: Accept: $media_type"
    timeout "$(remaining)" "${st[@]}" \
        "${common[@]}" \
        --header "Accept: $media_type" \
        --phases coverage,fuzzing,stateful \
        --max-examples 10 \
        --workers 2
done

# Maintenance answers 503 before the route table and the handlers are asked, so an undeclared
# method or a missing token gets the 503 too: the checks about those (405, 401) are left out.
log "schemathesis: maintenance switched on"
"$py" - "$main" <<'PY'
import sys, urllib.request
req = urllib.request.Request(f"{sys.argv[1]}/admin/maintenance", method="PUT",
                             headers={"authorization": "Bearer demo-token"})
with urllib.request.urlopen(req, timeout=10) as resp:
    assert resp.status == 200, resp.status
PY
timeout "$(remaining)" "${st[@]}" \
    "${common[@]}" \
    --exclude-path /admin/maintenance \
    --exclude-checks unsupported_method,missing_required_header,ignored_auth \
    --phases examples,coverage,fuzzing \
    --max-examples 5 \
    --workers 2

log "conformance: all passed in $((SECONDS - started)) s"
