#!/usr/bin/env bash
# The demo's OpenAPI document (GET /openapi.json, generated from the code: the handlers'
# `#[utoipa::path]` and `tower_api_errors::openapi::ErrorResponses` from the layer) under two
# outside tools, as a client's tooling would read it:
#
#   1. openapi-spec-validator (the OpenAPI 3.1 schema): must say OK;
#   2. Redocly CLI `lint` with its `recommended` rules (.ci/redocly.yaml): no error. Its
#      warnings are printed; the only ones left are `operation-2xx-response` on the operations
#      that have no success by design (the planned methods, answered 501 until they come, and
#      /panic).
#
# Installs both, pinned, under target/ (a virtualenv and an npm prefix; git-ignored). Needs the
# Rust toolchain, python3 (with venv) and npm. Usage, from anywhere: bash .ci/openapi-lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

OPENAPI_SPEC_VALIDATOR_VERSION=0.7.1
REDOCLY_CLI_VERSION=1.34.5

venv=target/lint-venv
node=target/ci-lint
work=target/openapi-lint
mkdir -p "$work"

source .ci/venv.sh
pinned_venv "$venv" "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION"
if [[ ! -x $node/node_modules/.bin/redocly ]]; then
    mkdir -p "$node"
    npm install --silent --no-audit --no-fund --prefix "$node" "@redocly/cli@$REDOCLY_CLI_VERSION"
fi

cargo build --example demo
demo_bin=${CARGO_TARGET_DIR:-target}/debug/examples/demo
source .ci/demo.sh
start_demo demo

document=$work/openapi.json
curl --silent --show-error --fail "$addr/openapi.json" -o "$document"

echo "== openapi-spec-validator $OPENAPI_SPEC_VALIDATOR_VERSION"
"$venv/bin/openapi-spec-validator" "$document"

echo "== redocly lint (@redocly/cli $REDOCLY_CLI_VERSION, recommended)"
"$node/node_modules/.bin/redocly" lint --config .ci/redocly.yaml "$document"
