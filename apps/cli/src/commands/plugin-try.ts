import type { Command } from 'commander'
import { tryEvent } from '@plugin-server/meta'
import { printJson, withManagement } from '../cli-context'
import { collect, parseKeyValues, positiveInt } from './option-parsers'
import { readEvent } from './plugin-run-input'
import { readAttachments } from './read-attachments'

interface TryOptions {
  event: string
  config?: number
  plugin?: string
  chain?: boolean
  set: string[]
  attachment: string[]
}

/** The same request body the admin API takes (files as base64), so the two cannot disagree on what a target is. */
async function target(options: TryOptions): Promise<Record<string, unknown>> {
  const given = [options.config !== undefined, options.plugin !== undefined, options.chain === true].filter(Boolean).length
  if (given !== 1) throw new Error('give exactly one of --config <configId>, --plugin <id|name> or --chain')
  if ((options.set.length > 0 || options.attachment.length > 0) && options.plugin === undefined)
    throw new Error('--set and --attachment only go with --plugin: a stored config runs with its stored values and attachments')
  if (options.config !== undefined) return { plugin_config_id: options.config }
  if (options.plugin === undefined) return { chain: true }
  const attachments = (await readAttachments(options.attachment)).map((a) => [
    a.key,
    { file_name: a.file_name, content_type: a.content_type, contents_base64: a.contents.toString('base64') },
  ])
  return { plugin_id: options.plugin, config: Object.fromEntries(parseKeyValues('--set', options.set)), attachments: Object.fromEntries(attachments) }
}

export function registerPluginTry(plugin: Command): void {
  plugin
    .command('try')
    .argument('<teamId>', 'team whose config, plugin or chain runs', positiveInt('teamId'))
    .requiredOption('--event <file>', 'sample PluginEvent JSON file, or - for stdin')
    .option('--config <configId>', "one of the team's plugin configs (enabled or not), with its stored values", positiveInt('--config'))
    .option('--plugin <plugin>', 'a plugin the team has not configured yet (id or plugin.json name)')
    .option('--set <key=value>', 'config value for --plugin (repeatable)', collect, [])
    .option('--attachment <key=path>', 'file for an attachment field of --plugin (repeatable)', collect, [])
    .option('--chain', "the team's enabled configs, in order")
    .description('dry run: run a sample event through plugins without side effects and print what they did (Try it)')
    .action(async (teamId: number, options: TryOptions) => {
      const event = await readEvent(options.event)
      const body = await target(options)
      const result = await withManagement((ctx, config) => tryEvent({ ...ctx, settings: config.plugins }, { teamId, event, target: body }))
      printJson(result)
      // Like `plugin run`: a step that failed fails the command, so scripts can tell.
      if (result.steps.some((step) => step.error !== null)) process.exitCode = 1
    })
}
