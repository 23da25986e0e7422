#!/usr/bin/env bash
# Every AIP-193 answer of the demo read as a google.rpc.Status with Google's own definitions
# (googleapis-common-protos, the package Google's Python client libraries use): the test that
# validates every answer of the demo in every shape writes the AIP-193 bodies to a file, and
# .ci/aip193_status.py parses each (unknown fields are errors, each detail's @type must resolve).
#
# Needs the Rust toolchain and python3 (with venv and pip): the packages are installed, pinned,
# into a virtualenv under target/ (git-ignored). Usage, from anywhere: bash .ci/aip193.sh
set -euo pipefail
cd "$(dirname "$0")/.."

GOOGLEAPIS_COMMON_PROTOS_VERSION=1.76.0
PROTOBUF_VERSION=7.36.2

venv=target/aip193-venv
source .ci/venv.sh
pinned_venv "$venv" \
    "googleapis-common-protos==$GOOGLEAPIS_COMMON_PROTOS_VERSION" "protobuf==$PROTOBUF_VERSION"

answers=$PWD/target/aip193-answers.jsonl
rm -f "$answers"
AIP193_ANSWERS=$answers cargo test --test demo every_answer_in_every_shape_is_valid_against_its_schema
"$venv/bin/python" .ci/aip193_status.py "$answers"
