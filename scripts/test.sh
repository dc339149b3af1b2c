#!/usr/bin/env bash
# The project's test command: sets up what is missing, then runs formatting,
# lints, the wasm32 build of model-core and every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== model-core for wasm32"
cargo build --quiet --target wasm32-unknown-unknown -p model-core
echo "== cargo test"
cargo test --workspace
