# Sourced by the CI scripts that need Python tools (aip193, conformance, openapi-lint, redbot):
# one way to make a virtualenv under target/ with exact versions. `pinned_venv DIR PKG==VER...`
# creates DIR when it is missing (with a clear error where python3 has no venv module) and
# installs the pinned packages into it; pip leaves them as they are when they already match.

pinned_venv() {
    local venv=$1
    shift
    if [[ ! -x $venv/bin/python ]]; then
        python3 -m venv "$venv" || {
            rm -rf "$venv"
            echo "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
            exit 1
        }
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --retries 10 \
        --timeout 60 "$@"
}
