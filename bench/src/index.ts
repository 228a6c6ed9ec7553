import { benchIngest } from './ingest'
import { benchPipeline } from './pipeline'
import { benchPluginVm } from './plugin-vm'

/** `npm run bench`: every figure is printed next to a baseline measured in the same run. */
async function main(): Promise<void> {
  const only = process.argv[2]
  if (!only || only === 'ingest') await benchIngest()
  if (!only || only === 'pipeline') await benchPipeline()
  if (!only || only === 'plugin-vm') await benchPluginVm()
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
