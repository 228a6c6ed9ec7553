#!/usr/bin/env -S node --no-node-snapshot
'use strict'
// The CLI runs on the project's Node (.nvmrc's major, Node 24) with --no-node-snapshot, which isolated-vm
// needs. Started any other way (an older system Node, or without the flag) it re-runs itself once the
// right way, so `npx plugin-server …` and scripts that call it keep working unchanged.
const path = require('node:path')
const fs = require('node:fs')
const { spawn, spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')

function requiredMajor() {
  try {
    return Number(fs.readFileSync(path.join(root, '.nvmrc'), 'utf8').trim().replace(/^v/, '').split('.')[0])
  } catch {
    return 24 // an installed package or image without .nvmrc
  }
}

// The project's Node when this one is too old: scripts/use-node.sh finds or fetches it (from the npm registry only).
function projectNode(major) {
  const useNode = path.join(root, 'scripts', 'use-node.sh')
  const found = fs.existsSync(useNode) ? spawnSync('bash', [useNode], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' }) : undefined
  const node = found?.status === 0 ? found.stdout.trim() : ''
  if (!node) {
    process.stderr.write(`plugin-server needs Node ${major} or newer; this is Node ${process.versions.node}. Install Node ${major} or run from a checkout (scripts/use-node.sh fetches it)\n`)
    process.exit(1)
  }
  return node
}

const major = requiredMajor()
const tooOld = Number(process.versions.node.split('.')[0]) < major
if (tooOld || !process.execArgv.includes('--no-node-snapshot')) {
  const node = tooOld ? projectNode(major) : process.execPath
  const execArgv = process.execArgv.filter((a) => a !== '--no-node-snapshot')
  // The malloc setting the image runs with (libs/core/src/malloc-tunables.ts); glibc reads it only at start.
  const env = { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=131072', ...process.env }
  const child = spawn(node, ['--no-node-snapshot', ...execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit', env })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
} else {
  const main = path.join(root, 'apps', 'cli', 'dist', 'main.js')
  if (!fs.existsSync(main)) {
    process.stderr.write('plugin-server is not built: run `npm ci && npm run build` first\n')
    process.exit(1)
  }
  require(main)
}
