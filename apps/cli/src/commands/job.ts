import type { Command } from 'commander'
import { triggerJob } from '@plugin-server/scheduling'
import { withManagement } from '../cli-context'
import { printResult } from '../output'
import { positiveInt } from './option-parsers'

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new Error(`--payload is not valid JSON: ${(err as Error).message}`)
  }
}

export function registerJob(program: Command): void {
  const job = program.command('job').description('plugin jobs (meta.jobs)')
  job
    .command('trigger')
    .argument('<configId>', 'plugin config id', positiveInt('configId'))
    .argument('<jobName>', 'name of a job the plugin exports')
    .option('--payload <json>', 'job payload as JSON, checked against publicJobs in plugin.json when the plugin declares it', '{}')
    .description('run a plugin job now (a job-worker picks it up); prints the queued job')
    .action(async (configId: number, jobName: string, options: { payload: string }) => {
      const payload = parsePayload(options.payload)
      printResult(await withManagement((ctx, config) => triggerJob(ctx, { pluginConfigId: configId, jobName, payload }, config.plugins)))
    })
}
