import { benchAdminApi } from './admin-api'
import { benchConfigs } from './configs'
import { benchIngest } from './ingest'
import { benchInserts } from './inserts'
import { benchIsolateCeiling } from './isolate-ceiling'
import { benchNeighbourLag } from './neighbour-lag'
import { benchPipeline } from './pipeline'
import { benchPluginVm } from './plugin-vm'
import { benchRolesStartup } from './roles-startup'
import { benchScheduler } from './scheduler'
import { benchStage } from './stage'

/** `npm run bench`: every figure is printed next to a baseline measured in the same run. */
async function main(): Promise<void> {
  const only = process.argv[2]
  if (!only || only === 'ingest') await benchIngest()
  if (!only || only === 'pipeline') await benchPipeline()
  if (!only || only === 'inserts') await benchInserts()
  if (!only || only === 'plugin-vm') await benchPluginVm()
  if (!only || only === 'scheduler') await benchScheduler()
  if (!only || only === 'admin-api') await benchAdminApi()
  if (!only || only === 'neighbour') await benchNeighbourLag()
  if (only === 'roles-startup') await benchRolesStartup()
  if (only === 'isolate-ceiling') await benchIsolateCeiling()
  if (!only || only === 'stage') await benchStage()
  if (!only || only === 'configs') await benchConfigs()
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
