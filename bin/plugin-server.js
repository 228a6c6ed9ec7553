#!/usr/bin/env -S node --no-node-snapshot
'use strict'
// isolated-vm 5 crashes Node 20 unless the startup snapshot is off; re-run with the flag when it was not given.
if (!process.execArgv.includes('--no-node-snapshot')) {
  const { spawn } = require('node:child_process')
  const child = spawn(process.execPath, ['--no-node-snapshot', ...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
} else {
  const path = require('node:path')
  const main = path.join(__dirname, '..', 'apps', 'cli', 'dist', 'main.js')
  if (!require('node:fs').existsSync(main)) {
    process.stderr.write('plugin-server is not built: run `npm ci && npm run build` first\n')
    process.exit(1)
  }
  require(main)
}
