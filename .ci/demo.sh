# Sourced by the CI scripts that run the demo (conformance, redbot, openapi-lint, wire): one way to start
# it on a free port and to stop it. The caller sets $work (a folder for the logs) and $demo_bin
# (the built example), then calls `start_demo NAME ARGS...`, which serves the demo on
# 127.0.0.1:0 with ARGS and sets $addr to its http://ADDR. Every demo started is stopped when
# the script exits.

pids=()
stop_demos() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_demos EXIT
trap 'exit 130' INT TERM

start_demo() {
    local name=$1
    shift
    local out=$work/$name.log
    : >"$out"
    "$demo_bin" --addr 127.0.0.1:0 "$@" >"$out" 2>&1 &
    pids+=($!)
    local i
    for i in $(seq 1 100); do
        addr=$(sed -n 's#^listening on \(http://127\.0\.0\.1:[0-9]*\)$#\1#p' "$out")
        [[ -n $addr ]] && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "the demo ($name) did not start:" >&2
    cat "$out" >&2
    exit 1
}
