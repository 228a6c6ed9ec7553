#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine, then runs `npm test`
# (build, lint, and the mocha suite against a real Redis and Postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm ci --no-audit --no-fund
npm test
