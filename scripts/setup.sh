#!/usr/bin/env bash
# Installs what the project needs beyond the Rust toolchain, skipping every
# step that is already done, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
fi

# Python virtualenv with pinned packages; a stamp of requirements.txt tells
# whether it is current.
if [ ! -x .venv/bin/python ]; then
    step "creating the Python virtualenv in .venv"
    python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    step "installing Python packages (rdkit, pyscf) into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
    echo "$want" > "$stamp"
fi

# QM9: the qm9pack 1.0.3 wheel, checksum-verified.
wheel=data/cache/qm9pack-1.0.3-py3-none-any.whl
sha=1d88c2988007c6778e717ee3224cf511bd60e10732ebe3b7ed500ea5af05c9f0
if [ ! -f "$wheel" ] || [ "$(sha256sum "$wheel" | cut -d' ' -f1)" != "$sha" ]; then
    step "downloading QM9 (qm9pack==1.0.3 from PyPI, about 100 MB)"
    rm -f "$wheel"
    .venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps qm9pack==1.0.3 -d data/cache
    [ "$(sha256sum "$wheel" | cut -d' ' -f1)" = "$sha" ] || { echo "QM9 wheel checksum mismatch" >&2; exit 1; }
fi
step "ready"
