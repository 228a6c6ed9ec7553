import { benchIngest } from './ingest'

/** `npm run bench`: every figure is printed next to a baseline measured in the same run. */
async function main(): Promise<void> {
  const only = process.argv[2]
  if (!only || only === 'ingest') await benchIngest()
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
