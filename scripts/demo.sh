#!/usr/bin/env bash
# The main job as a demo: local Redis and Postgres, every role as its own process, events flowing.
# Extra arguments go to `plugin-server demo` (e.g. --duration 30, --events 5000).
# Runs on the project's Node (.nvmrc; fetched into .node/ when the system Node is older, see use-node.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_POSTGRES=0 bash scripts/install-system-deps.sh
. scripts/use-node.sh
echo "node $(node -v) ($(command -v node))"
npm ci --no-audit --no-fund
npm run build
exec node --no-node-snapshot bin/plugin-server.js demo "$@"
