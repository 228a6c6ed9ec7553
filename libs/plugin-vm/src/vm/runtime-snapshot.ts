import ivm from 'isolated-vm'
import { LAZY_MODULES, lazyModuleSource, runtimeSource } from './runtime-bundle'

let snapshot: ivm.ExternalCopy<ArrayBuffer> | null | undefined
let failure: string | null = null

/**
 * A V8 startup snapshot of the sandbox runtime, made once per process: every isolate created from it
 * starts with the runtime already evaluated, instead of compiling and running the 180 KB bundle
 * (buffer, readable-stream, URL, …) itself, which was most of the time it took to load a config.
 *
 * It is built from the runtime's source alone, in a fresh isolate of its own, before and apart from
 * any config: no plugin code, config value, attachment or host reference is ever in it, so nothing
 * of one config can reach another's isolate through it. What must differ per context (the host
 * link, `gc`, WebAssembly's removal) is done by the runtime's `init` in each new context; V8 reseeds
 * `Math.random` per context.
 *
 * Null when isolated-vm cannot make one here; loading then runs the bundle in each isolate as before.
 */
export function runtimeSnapshot(): ivm.ExternalCopy<ArrayBuffer> | null {
  if (snapshot !== undefined) return snapshot
  try {
    snapshot = ivm.Isolate.createSnapshot([{ code: runtimeSource(), filename: 'plugin-vm-runtime.js' }])
  } catch (error) {
    failure = String((error as Error)?.message ?? error)
    snapshot = null
  }
  return snapshot
}

/** Why the snapshot could not be made (null when it was, or was not tried yet): for tests and diagnostics. */
export function runtimeSnapshotFailure(): string | null {
  return failure
}

/**
 * Builds what every load shares (the runtime bundle, and its snapshot when `snapshot`; the lazily
 * required modules' bundles) now, rather than during the first load: a role that loads configs as
 * soon as traffic arrives (the ingest worker) pays for it before it reports ready, not on its first batch.
 */
export function prepareSandboxRuntime(snapshot: boolean): void {
  if (snapshot) runtimeSnapshot()
  else runtimeSource()
  for (const name of Object.keys(LAZY_MODULES)) lazyModuleSource(name)
}
