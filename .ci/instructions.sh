#!/usr/bin/env bash
# Exact instructions and heap allocations per request (benches/instructions.rs, gungraun over
# valgrind), printed as a table and checked against the budgets in benches/instruction_budgets.py.
# Installs what it needs: valgrind (apt) and gungraun-runner of the version Cargo.lock has.
#
#   bash .ci/instructions.sh                             # fails when a budget is exceeded
#   INSTRUCTION_BUDGETS=report bash .ci/instructions.sh  # prints the same table, never fails on it
#   INSTRUCTION_BUDGETS=report bash .ci/instructions.sh '*own_*'   # only the rows that match
#
# Arguments go to gungraun (a filter is a wildcard pattern over the benchmark names, see
# `cargo bench --bench instructions -- --list`); rows left out show as "not measured".
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind
fi

# The runner must be exactly the version of the `gungraun` library the bench is built with.
version=$(awk '/^name = "gungraun"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ -z "$version" ]; then
    echo "no gungraun in Cargo.lock" >&2
    exit 1
fi
if [ "$(gungraun-runner --version 2>/dev/null || true)" != "gungraun-runner $version" ]; then
    cargo install gungraun-runner --version "$version" --locked
fi

summary=target/instructions.jsonl
mkdir -p target
# JSON summaries go to stdout, one benchmark a line; progress and errors to stderr.
cargo bench --bench instructions -- --output-format=json "$@" >"$summary"
python3 benches/instruction_budgets.py "$summary"
