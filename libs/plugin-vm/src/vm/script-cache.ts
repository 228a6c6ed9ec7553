import ivm from 'isolated-vm'

const MAX_ENTRIES = 1000
const cache = new Map<string, ivm.ExternalCopy<ArrayBuffer>>()

/**
 * V8 code cache per source hash, shared by all isolates in the process: re-creating an isolate
 * after a breach or eviction skips parsing and compiling the plugin again.
 */
export async function compileCached(isolate: ivm.Isolate, key: string, code: string, filename: string): Promise<ivm.Script> {
  const cachedData = cache.get(key)
  const script = (await isolate.compileScript(code, cachedData ? { filename, cachedData } : { filename, produceCachedData: true })) as ivm.Script & {
    cachedData?: ivm.ExternalCopy<ArrayBuffer>
    cachedDataRejected?: boolean
  }
  if (!cachedData && script.cachedData) {
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string)
    cache.set(key, script.cachedData)
  } else if (cachedData && script.cachedDataRejected) {
    cache.delete(key)
  }
  return script
}
