import { type Command, Option } from 'commander'
import { closeFleetServices, tryEvent } from '@plugin-server/try-it'
import { printJson, withManagement } from '../cli-context'
import { printError } from '../output'
import { collect, parseKeyValues, positiveInt } from './option-parsers'
import { readEvent } from './plugin-run-input'
import { readAttachments } from './read-attachments'

interface TryOptions {
  event: string
  configId?: number
  /** Deprecated spelling of configId: everywhere else --config means key=value. */
  config?: string
  plugin?: string
  chain?: boolean
  set: string[]
  attachment: string[]
}

/** The same request body the admin API takes (files as base64), so the two cannot disagree on what a target is. */
async function target(options: TryOptions): Promise<Record<string, unknown>> {
  if (options.config !== undefined && options.configId !== undefined) throw new Error('give --config-id once (--config is its old name)')
  const configId = options.configId ?? oldConfigFlag(options.config)
  const given = [configId !== undefined, options.plugin !== undefined, options.chain === true].filter(Boolean).length
  if (given !== 1) throw new Error('give exactly one of --config-id <configId>, --plugin <id|name> or --chain')
  if ((options.set.length > 0 || options.attachment.length > 0) && options.plugin === undefined)
    throw new Error('--set and --attachment only go with --plugin: a stored config runs with its stored values and attachments')
  if (configId !== undefined) return { plugin_config_id: configId }
  if (options.plugin === undefined) return { chain: true }
  const attachments = (await readAttachments(options.attachment)).map((a) => [
    a.key,
    { file_name: a.file_name, content_type: a.content_type, contents_base64: a.contents.toString('base64') },
  ])
  return { plugin_id: options.plugin, config: Object.fromEntries(parseKeyValues('--set', options.set)), attachments: Object.fromEntries(attachments) }
}

/**
 * `--config key=value` is what the flag means in other commands: say where that goes here.
 * Checked here rather than as an argParser, since commander would echo the value (maybe a secret).
 */
function oldConfigFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new Error('in plugin try, --config is the old name of --config-id <configId>; config values for --plugin go in --set key=value')
  }
  process.stderr.write('plugin-server: plugin try --config <configId> is deprecated, use --config-id <configId>\n')
  return Number(value)
}

export function registerPluginTry(plugin: Command): void {
  plugin
    .command('try')
    .argument('<teamId>', 'team whose config, plugin or chain runs', positiveInt('teamId'))
    .requiredOption('--event <file>', 'sample PluginEvent JSON file, or - for stdin')
    .option('--config-id <configId>', "one of the team's plugin configs (enabled or not), with its stored values", positiveInt('--config-id'))
    .addOption(new Option('--config <configId>', 'deprecated: --config-id').hideHelp())
    .option('--plugin <plugin>', 'a plugin the team has not configured yet (id or plugin.json name)')
    .option('--set <key=value>', 'config value for --plugin (repeatable)', collect, [])
    .option('--attachment <key=path>', 'file for an attachment field of --plugin (repeatable)', collect, [])
    .option('--chain', "the team's enabled configs, in order")
    .description('dry run: run a sample event through plugins without side effects and print what they did (Try it)')
    .action(async (teamId: number, options: TryOptions) => {
      const event = await readEvent(options.event)
      const body = await target(options)
      const result = await withManagement(async (ctx, config) => {
        // The stored config runs with the fleet's allowlist: its Redis stays closed, as in the roles.
        const closedServices = await closeFleetServices(config, { redis: ctx.redis })
        try {
          return await tryEvent(
            { ...ctx, settings: { ...config.plugins, closedServices, maxEventBytes: config.capture.maxEventBytes } },
            { teamId, event, target: body },
          )
        } finally {
          closedServices.stop()
        }
      })
      printJson(result)
      // For people, on stderr: what failed (with the plugin's frames indented below) and what the dry run held back.
      for (const step of result.steps) {
        const what = `${step.plugin} ${step.method}`
        if (step.error !== null) printError(`plugin try: ${what} failed: ${step.error}${step.stack === undefined ? '' : `\n${step.stack}`}`)
        else if (step.not_sent !== undefined) printError(`plugin try: ${what}: not sent (dry run): ${step.not_sent}`)
      }
      // Like `plugin run`: a step that failed fails the command, so scripts can tell. A request the
      // dry run did not send is no failure: the workers would have sent it.
      if (result.steps.some((step) => step.error !== null)) process.exitCode = 1
    })
}
