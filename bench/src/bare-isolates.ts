import ivm from 'isolated-vm'

/**
 * The floor of `npm run bench -- configs`, run as its own plain Node process: N isolates with one
 * context each and nothing in them, at the ingest worker's memory limit. Prints one JSON line:
 * RSS before and after (bytes) and the time to create them all (ms).
 */
async function main(): Promise<void> {
  const count = Number(process.argv[2])
  const memoryLimit = Number(process.argv[3] ?? 128)
  if (!Number.isInteger(count) || count < 1) throw new Error(`bare-isolates: the count must be a positive integer, got ${process.argv[2]}`)
  const rssBefore = process.memoryUsage().rss
  const started = process.hrtime.bigint()
  const isolates: ivm.Isolate[] = []
  for (let i = 0; i < count; i++) {
    const isolate = new ivm.Isolate({ memoryLimit })
    await isolate.createContext()
    isolates.push(isolate)
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  process.stdout.write(`${JSON.stringify({ count: isolates.length, rssBefore, rssAfter: process.memoryUsage().rss, ms })}\n`)
}

main().catch((err: Error) => {
  process.stderr.write(`bare-isolates failed: ${err.message}\n`)
  process.exit(1)
})
