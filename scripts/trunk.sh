#!/usr/bin/env bash
# trunk with the project's wasm-opt (binaryen from npm in web/node_modules)
# first on PATH: `scripts/trunk.sh serve`, `scripts/trunk.sh build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/web/node_modules/.bin:$PATH" exec trunk "$@"
