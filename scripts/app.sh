#!/usr/bin/env bash
# One command opens the browser app: sets up the web tools, builds the app if
# it is missing or older than its sources, then starts the scorer serving it at
# / beside the API at /v1 (one origin, so no CORS set-up), and prints one URL.
#
#   scripts/app.sh                         http://127.0.0.1:8765/, job store data/scorer.sqlite
#   scripts/app.sh --port 9000 --workers 1 extra arguments go to `scorer serve`
#
# MOLGAP_SCORER_BIN runs that scorer binary instead of building the release one.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --web
stamp=dist/index.html
sources=(web/src web/index.html web/style.css web/Cargo.toml public model-core/src model-core/Cargo.toml Cargo.lock Trunk.toml)
if [ ! -f "$stamp" ] || [ -n "$(find "${sources[@]}" -newer "$stamp" -type f -print -quit)" ]; then
    echo "== building the browser app (trunk build --release; minutes the first time)"
    scripts/trunk.sh build --release
fi
scorer="${MOLGAP_SCORER_BIN:-}"
if [ -z "$scorer" ]; then
    echo "== building the scorer (release)"
    cargo build --release --quiet -p scorer
    scorer="${CARGO_TARGET_DIR:-target}/release/scorer"
fi
exec "$scorer" serve --app dist "$@"
