import type { Buffer as BufferClass } from 'buffer'
import { hostSync } from './host-link'
import { mapGet, mapSet, NativeFunction, NativeMap } from './intrinsics'

/**
 * Pure-JS packages kept out of the runtime's snapshot (vm/runtime-bundle.ts, LAZY_MODULES): each is
 * evaluated in an isolate the first time something there needs it, so an isolate whose plugin never
 * does pays neither its heap nor its start-up.
 */
const loaded = new NativeMap<string, unknown>()

/** What a lazy module's bundle imports gets the runtime's own: one Buffer class in the isolate. */
function lazyModuleRequire(name: string): unknown {
  if (name === 'buffer') return lazyModule('buffer')
  // Bundled into the runtime (and so a value import here: evaluated with it).
  if (name === 'events') return require('events')
  throw new Error(`module "${name}" is not available to the runtime's lazily loaded modules`)
}

/**
 * Evaluates a package's bundle, fetched from the host, in this isolate under the calling plugin's
 * limits, once. The constructor was captured before plugin code ran and `module` is an object
 * literal, so nothing the plugin replaced decides what runs or where the exports go.
 */
export function lazyModule(name: string): unknown {
  const known = mapGet(loaded, name)
  if (known !== undefined) return known
  const source = String(hostSync('runtime.module', [name]))
  const module: { exports: unknown } = { exports: {} }
  const evaluate = new NativeFunction('module', 'exports', 'require', source) as (m: typeof module, e: unknown, r: typeof lazyModuleRequire) => void
  evaluate(module, module.exports, lazyModuleRequire)
  mapSet(loaded, name, module.exports)
  return module.exports
}

/**
 * The isolate's one Buffer class (the `buffer` package): the global, `require('buffer')`, what the
 * runtime's crypto, zlib, fetch and text helpers hand out, and what `stream` uses.
 */
export function runtimeBuffer(): typeof BufferClass {
  return (lazyModule('buffer') as { Buffer: typeof BufferClass }).Buffer
}
