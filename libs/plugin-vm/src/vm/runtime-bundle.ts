import { buildSync, BuildOptions } from 'esbuild'
import { dirname, join } from 'path'

let bundle: string | undefined

/** The CommonJS build of abort-controller, found from readable-stream (which imports it) as Node would. */
function abortControllerPath(): string {
  const from = dirname(require.resolve('readable-stream/package.json'))
  return require.resolve('abort-controller/dist/abort-controller.js', { paths: [from] })
}

function options(): BuildOptions {
  return {
    bundle: true,
    write: false,
    platform: 'browser',
    target: 'es2022',
    minify: true,
    logLevel: 'silent',
    define: { global: 'globalThis', 'process.env.NODE_ENV': '"production"' },
    // The browser build of abort-controller reads `self`; the isolate has neither. An absolute path:
    // esbuild resolves an alias's target from the working directory, which is wherever the CLI was started.
    alias: { 'abort-controller': abortControllerPath() },
  }
}

/**
 * The sandbox runtime (dist/sandbox/*.js plus the pure-JS events package) bundled once per
 * process into a script that runs first in every isolate.
 */
export function runtimeSource(): string {
  if (bundle !== undefined) return bundle
  const result = buildSync({ ...options(), entryPoints: [join(__dirname, '..', 'sandbox', 'entry.js')], format: 'iife' })
  bundle = result.outputFiles![0].text
  return bundle
}

/**
 * Pure-JS packages few plugins require, kept out of the runtime: each would otherwise be in every
 * isolate's heap (readable-stream and generic-pool were 107 KB of the runtime's 181 KB of source and
 * 180 KB of each isolate's memory; buffer 112 KB of heap). A plugin's first `require` (for buffer,
 * also its first use of the `Buffer` global or of something of the runtime's that makes one)
 * evaluates the package's own bundle in its isolate (sandbox/lazy-modules.ts), with the runtime's
 * buffer and events for theirs.
 */
export const LAZY_MODULES: Readonly<Record<string, string>> = { stream: 'readable-stream', 'generic-pool': 'generic-pool', buffer: 'buffer' }
/** What a lazy module's bundle may require from the runtime (or from another lazy module: buffer), never bundling its own. */
export const LAZY_MODULE_IMPORTS = ['buffer', 'events']

const lazySources = new Map<string, string>()

/** The CommonJS source of a lazy module (its `module.exports` set from `module`, `exports`, `require`). */
export function lazyModuleSource(name: string): string {
  const cached = lazySources.get(name)
  if (cached !== undefined) return cached
  const pkg = Object.hasOwn(LAZY_MODULES, name) ? LAZY_MODULES[name] : undefined
  if (pkg === undefined) throw new Error(`module "${name}" is not a lazily loaded sandbox module`)
  const result = buildSync({
    ...options(),
    stdin: { contents: `module.exports = require(${JSON.stringify(pkg)})`, resolveDir: __dirname },
    format: 'cjs',
    external: LAZY_MODULE_IMPORTS.filter((imported) => imported !== pkg),
  })
  const source = result.outputFiles![0].text
  lazySources.set(name, source)
  return source
}
