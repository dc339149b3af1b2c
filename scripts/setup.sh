#!/usr/bin/env bash
# Installs what the project needs beyond the Rust toolchain, skipping every
# step that is already done, so a second run takes seconds.
#
#   scripts/setup.sh         the Python virtualenv (RDKit, PySCF) and QM9: what
#                            the main job (scripts/run.sh) needs
#   scripts/setup.sh --web   also the browser app's tools: the wasm32 target,
#                            trunk, wasm-bindgen-cli, binaryen, playwright-core
#                            and Chromium (scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

web=no
case "${1:-}" in
    "") ;;
    --web) web=yes ;;
    *) echo "usage: scripts/setup.sh [--web]" >&2; exit 2 ;;
esac

step() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

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
if [ "$web" = no ]; then
    step "ready (without the browser app's tools; scripts/setup.sh --web adds them)"
    exit 0
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
fi
# The browser app's tools. Trunk cannot download its helpers here (GitHub is
# unreachable), so wasm-bindgen-cli comes from crates.io at the exact version
# Cargo.lock resolves and wasm-opt from npm's binaryen (web/node_modules);
# Trunk.toml pins both and tells trunk to stay offline.
TRUNK_VERSION=0.21.14
wasm_bindgen_version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    step "installing trunk $TRUNK_VERSION (cargo install; 15-20 minutes on 2 cores, once)"
    cargo install trunk --version "$TRUNK_VERSION" --locked --quiet
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wasm_bindgen_version" ]; then
    step "installing wasm-bindgen-cli $wasm_bindgen_version (cargo install, once)"
    # Not --locked: its lockfile pins a crate version the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$wasm_bindgen_version" --quiet
fi
grep -q "wasm_bindgen = \"$wasm_bindgen_version\"" Trunk.toml \
    || { echo "Trunk.toml's wasm_bindgen differs from Cargo.lock's $wasm_bindgen_version" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ]; then
        step "installing chromium from Debian (for the browser tests)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
    else
        echo "please install chromium (as root: apt-get install chromium)" >&2
        exit 1
    fi
fi
npm_stamp=web/node_modules/.package.sha256
want=$(sha256sum web/package.json | cut -d' ' -f1)
if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$want" ]; then
    step "installing binaryen (wasm-opt) and playwright-core into web/node_modules (npm)"
    (cd web && npm install --no-audit --no-fund --silent)
    echo "$want" > "$npm_stamp"
fi
step "ready"
