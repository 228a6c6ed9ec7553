#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine, then runs `npm test`
# (build, lint, and the mocha suite against a real Redis and Postgres) on the project's Node
# (.nvmrc; fetched from the npm registry into .node/ when the system Node is older, see use-node.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
. scripts/use-node.sh
echo "node $(node -v) ($(command -v node)), npm $(npm -v)"
npm ci --no-audit --no-fund
npm test
