#!/usr/bin/env bash
# The JSON Schemas in schema/ under a strict validator: ajv in strict mode (every `required`
# member defined beside it, no unknown keyword, no ambiguous type), as a client's tooling would
# compile them. Installs its own pinned ajv under target/ (npm, from the registry).
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=target/ci-node
if [ ! -x "$prefix/node_modules/.bin/ajv" ]; then
    mkdir -p "$prefix"
    npm install --silent --no-audit --no-fund --prefix "$prefix" \
        ajv-cli@5.0.0 ajv@8.20.0 ajv-formats@2.1.1
fi
for schema in schema/*.schema.json; do
    "$prefix/node_modules/.bin/ajv" compile --spec=draft2020 --strict=true \
        -c ajv-formats -s "$schema"
done
