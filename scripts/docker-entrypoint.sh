#!/bin/sh
# Entry point of the container image: the role comes from the arguments (`start ingest-worker`,
# `migrate`, any CLI command) or, with no arguments, from ROLE. Node runs with --no-node-snapshot,
# which isolated-vm needs, and replaces this shell so SIGTERM reaches it directly.
set -eu
if [ "$#" -eq 0 ]; then
  if [ -z "${ROLE:-}" ]; then
    echo 'plugin-server: give a command (start <role>, migrate, ...) or set ROLE to one of capture, ingest-worker, exporter, scheduler, job-worker' >&2
    exit 2
  fi
  set -- start "$ROLE"
fi
exec node --no-node-snapshot /app/bin/plugin-server.js "$@"
