#!/usr/bin/env bash
# End-to-end load: the same axum app served bare and inside the layer
# (examples/load_server.rs, one tokio thread, 127.0.0.1 only), loaded by oha in alternating
# runs bare/layer/bare/layer..., then the median layer/bare ratios of req/s and p99.
#
#   benches/load.sh                      # 5 pairs x 5 s, 64 connections
#   PAIRS=2 DURATION=3 benches/load.sh   # a quick look
#
# Settings (environment): PAIRS (5), DURATION seconds per run (5), CONNECTIONS (64),
# STACKS ("bare layer": the first is the baseline; layer_minimal and peer_stack exist too),
# PIN (0; 1 puts the server on CPU 0 and oha on CPU 1 with taskset: steadier on a quiet
# machine, much noisier when something else is running on CPU 0).
# Bounded in time: every server stops by itself DURATION+15 s after it starts, oha is
# wrapped in `timeout`, and the servers are killed when the script exits.
set -euo pipefail

PAIRS=${PAIRS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-64}
STACKS=${STACKS:-"bare layer"}
PIN=${PIN:-0}

cd "$(dirname "$0")/.."

for n in "$PAIRS" "$DURATION" "$CONNECTIONS"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "PAIRS, DURATION and CONNECTIONS must be positive integers" >&2; exit 2; }
done
read -r -a stacks <<<"$STACKS"
[[ ${#stacks[@]} -ge 2 ]] || { echo "STACKS needs a baseline and at least one other stack" >&2; exit 2; }

if ! command -v oha >/dev/null 2>&1; then
    if [[ -x "$HOME/.cargo/bin/oha" ]]; then
        PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "oha not found: cargo install oha --locked (this takes a few minutes)" >&2
        cargo install oha --locked
        PATH="$HOME/.cargo/bin:$PATH"
    fi
fi

echo "building examples/load_server (release)..." >&2
cargo build --release --quiet --example load_server
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
server="$target_dir/release/examples/load_server"
[[ -x "$server" ]] || { echo "no executable at $server" >&2; exit 1; }

server_pin=() client_pin=()
if [[ "$PIN" == 1 ]] && command -v taskset >/dev/null 2>&1 && [[ $(nproc) -ge 2 ]]; then
    server_pin=(taskset -c 0)
    client_pin=(taskset -c 1)
fi

work=$(mktemp -d)
server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run STACK INDEX: serves STACK, loads it for DURATION seconds, leaves oha's JSON in the work dir.
run() {
    local stack=$1 index=$2 log="$work/server-$2.log" addr=""
    "${server_pin[@]}" "$server" --stack "$stack" --addr 127.0.0.1:0 --seconds $((DURATION + 15)) >"$log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        addr=$(sed -n 's/^listening on //p' "$log")
        [[ -n "$addr" ]] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z "$addr" ]]; then
        echo "the $stack server did not start:" >&2
        cat "$log" >&2
        exit 1
    fi
    [[ "$addr" == http://127.0.0.1:* ]] || { echo "not a loopback address: $addr" >&2; exit 1; }
    timeout $((DURATION + 30)) "${client_pin[@]}" oha --no-tui --output-format json \
        -z "${DURATION}s" -c "$CONNECTIONS" "$addr/hello" >"$work/$index-$stack.json"
    stop_server
}

echo "pairs=$PAIRS duration=${DURATION}s connections=$CONNECTIONS stacks=${stacks[*]} pinned=$([[ ${#server_pin[@]} -gt 0 ]] && echo yes || echo no)"
index=0
for pair in $(seq "$PAIRS"); do
    for stack in "${stacks[@]}"; do
        index=$((index + 1))
        run "$stack" "$index"
        python3 - "$work/$index-$stack.json" "$pair" "$stack" <<'EOF'
import json, sys
path, pair, stack = sys.argv[1:]
d = json.load(open(path))
ok = d["statusCodeDistribution"].get("200", 0)
other = sum(v for k, v in d["statusCodeDistribution"].items() if k != "200")
errors = d["errorDistribution"]
# oha cuts the requests still in flight when the time is up: expected, not a failure.
aborted = sum(v for k, v in errors.items() if "deadline" in k)
failed = sum(errors.values()) - aborted
print(f"pair {pair:>2} {stack:<14} {d['summary']['requestsPerSec']:>10.0f} req/s"
      f"  p50 {d['latencyPercentiles']['p50'] * 1e3:6.3f} ms"
      f"  p99 {d['latencyPercentiles']['p99'] * 1e3:6.3f} ms"
      f"  200: {ok}  non-200: {other}  failed: {failed}  cut at deadline: {aborted}")
if other or failed:
    print(f"  warning: {stack} answered {other} non-200 and {failed} failed requests: {errors}")
EOF
    done
done

python3 - "$work" "${stacks[@]}" <<'EOF'
import glob, json, os, statistics, sys
work, baseline, *others = sys.argv[1:]
runs = {}
for path in sorted(glob.glob(os.path.join(work, "*.json")), key=lambda p: int(os.path.basename(p).split("-")[0])):
    stack = os.path.basename(path).split("-", 1)[1][:-5]
    d = json.load(open(path))
    runs.setdefault(stack, []).append((d["summary"]["requestsPerSec"], d["latencyPercentiles"]["p99"]))
print()
print("| stack | median req/s | median p99 (ms) | median ratio req/s vs %s (per pair) | median ratio p99 |" % baseline)
print("|---|---|---|---|---|")
base = runs[baseline]
for stack in [baseline] + others:
    rps = statistics.median(r for r, _ in runs[stack])
    p99 = statistics.median(p for _, p in runs[stack]) * 1e3
    if stack == baseline:
        print(f"| {stack} | {rps:.0f} | {p99:.3f} | — | — |")
        continue
    rps_ratio = statistics.median(r / b for (r, _), (b, _) in zip(runs[stack], base))
    p99_ratio = statistics.median(p / q for (_, p), (_, q) in zip(runs[stack], base))
    print(f"| {stack} | {rps:.0f} | {p99:.3f} | {rps_ratio:.3f} | {p99_ratio:.3f} |")
EOF
