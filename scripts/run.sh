#!/usr/bin/env bash
# The main job. For now: set up, build the trainer, prepare QM9 and print its
# summary. Later stages (sampling, search, DFT verification) hook in here.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo run --release --quiet -p trainer -- prepare --wheel data/cache/qm9pack-1.0.3-py3-none-any.whl "$@"
