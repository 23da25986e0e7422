#!/usr/bin/env bash
# HTTP lint of the demo's error answers with REDbot (PyPI `redbot`): every answer the demo can
# give with an error status, as REDbot fetches it (GET), must draw no WARN or BAD note.
#
#   1. builds the demo and serves it on 127.0.0.1 (port 0) three times: as configured, with
#      maintenance switched on, and with an in-flight limit of 0 (every request overloaded);
#   2. runs `redbot -o har URL` on each error URL and prints every note with its level;
#   3. exits non-zero when any note is WARN or BAD.
#
# Installs pinned redbot into a virtualenv under target/ (git-ignored). Usage: bash .ci/redbot.sh
set -euo pipefail
cd "$(dirname "$0")/.."

REDBOT_VERSION=2.7.1
venv=target/redbot-venv
source .ci/venv.sh
pinned_venv "$venv" "redbot==$REDBOT_VERSION"

demo_bin=$(cargo build --example demo --message-format=json-render-diagnostics |
    "$venv/bin/python" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "demo" and m.get("executable"):
        print(m["executable"])')

# The demo's logs go to $work. start_demo (sourced): `$(start …)` in a subshell kept its pid from
# this shell, so the demos outlived the script.
work=target/redbot
mkdir -p "$work"
source .ci/demo.sh

failed=0
# Lints URL, whose answer must have status EXPECTED.
lint() {
    local url=$1 expected=$2
    "$venv/bin/redbot" -o har "$url" | "$venv/bin/python" -c '
import json, sys
url, expected = sys.argv[1], int(sys.argv[2])
entry = json.load(sys.stdin)["log"]["entries"][0]
status = entry["response"]["status"]
notes = entry["_red_messages"]
bad = [n for n in notes if n["level"].upper() in ("WARN", "WARNING", "BAD")]
print(f"{status} {url}")
for n in notes:
    print("    %-7s %s: %s" % (n["level"], n["note_id"], n["summary"]))
if status != expected:
    print(f"    expected status {expected}")
sys.exit(1 if bad or status != expected else 0)
' "$url" "$expected" || failed=1
}

start_demo configured --timeout-ms 300
base=$addr
lint "$base/nowhere" 404            # the Router's empty 404, normalized
lint "$base/notes/999" 404          # a handler's ApiError
lint "$base/private" 401            # WWW-Authenticate
lint "$base/admin/maintenance" 405  # GET is not among PUT, DELETE: refused by the layer
lint "$base/notes" 501              # GET is planned
lint "$base/panic" 500
lint "$base/slow?ms=3000" 504       # past the 300 ms deadline

start_demo maintenance
base=$addr
curl -fsS -X PUT -H 'authorization: Bearer demo-token' "$base/admin/maintenance" >/dev/null
lint "$base/payments" 503           # maintenance

start_demo overloaded --max-in-flight 0
base=$addr
lint "$base/payments" 503           # overloaded

if [[ $failed != 0 ]]; then
    echo "REDbot found WARN or BAD notes (or a wrong status) above" >&2
    exit 1
fi
echo "REDbot: no WARN or BAD note on any error answer"
