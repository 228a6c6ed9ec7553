import { buildSync } from 'esbuild'
import { dirname, join } from 'path'

let bundle: string | undefined

/** The CommonJS build of abort-controller, found from readable-stream (which imports it) as Node would. */
function abortControllerPath(): string {
  const from = dirname(require.resolve('readable-stream/package.json'))
  return require.resolve('abort-controller/dist/abort-controller.js', { paths: [from] })
}

/**
 * The sandbox runtime (dist/sandbox/*.js plus pure-JS packages: buffer, events, readable-stream,
 * generic-pool) bundled once per process into a script that runs first in every isolate.
 */
export function runtimeSource(): string {
  if (bundle !== undefined) return bundle
  const result = buildSync({
    entryPoints: [join(__dirname, '..', 'sandbox', 'entry.js')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    logLevel: 'silent',
    define: { global: 'globalThis', 'process.env.NODE_ENV': '"production"' },
    // The browser build of abort-controller reads `self`; the isolate has neither. An absolute path:
    // esbuild resolves an alias's target from the working directory, which is wherever the CLI was started.
    alias: { 'abort-controller': abortControllerPath() },
  })
  bundle = result.outputFiles[0].text
  return bundle
}
