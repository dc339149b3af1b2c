#!/usr/bin/env bash
# The project's test command: sets up what is missing, then runs formatting,
# lints, the wasm32 build of model-core, every test in the workspace, and the
# browser app's build and headless-Chromium tests (against a real scorer).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --web
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== model-core for wasm32"
cargo build --quiet --target wasm32-unknown-unknown -p model-core
echo "== cargo test"
cargo test --workspace
echo "== web app: trunk build --release"
scripts/trunk.sh build --release
echo "== web app in headless Chromium against a real scorer (CPU wasm, then WebGPU); screenshots in target/web-e2e"
# `cargo test --workspace` above built the scorer binary (its tests run it).
scorer_bin="${CARGO_TARGET_DIR:-target}/debug/scorer"
node web/e2e/app.test.mjs --out target/web-e2e --scorer-bin "$scorer_bin"
node web/e2e/app.test.mjs --webgpu --out target/web-e2e --scorer-bin "$scorer_bin"
