import type { Command } from 'commander'
import { createConfig, deleteConfig, getConfig, listConfigs, setConfigEnabled, updateConfig } from '@plugin-server/management'
import { withManagement } from '../cli-context'
import { printResult } from '../output'
import { collect, integer, parseKeyValues, positiveInt } from './option-parsers'
import { readAttachments } from './read-attachments'

interface WriteOptions {
  config: string[]
  attachment: string[]
  order?: number
  pinVersion?: number
}

function writeOptions(command: Command): Command {
  return command
    .option('--config <key=value>', 'config field value (repeatable); key= sets an optional text field empty (a choice or secret: clears it)', collect, [])
    .option('--attachment <key=path>', 'file for an attachment field (repeatable)', collect, [])
    .option('--order <n>', "position in the team's plugin chain (lower runs first)", integer('--order'))
    .option(
      '--pin-version <n>',
      "run this stored plugin version, whatever is installed or rolled back later (default: follow the plugin's current version)",
      positiveInt('--pin-version'),
    )
}

/** --pin-version N pins, --unpin follows the current version again, neither leaves the pin alone. */
function pinChange(options: { pinVersion?: number; unpin?: boolean }): number | null | undefined {
  if (options.unpin === true && options.pinVersion !== undefined) throw new Error('--pin-version and --unpin contradict each other; give one')
  if (options.unpin === true) return null
  return options.pinVersion
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('configure plugins for teams (one config per plugin per team)')
  writeOptions(
    config
      .command('create')
      .requiredOption('--team <id>', 'team id', positiveInt('--team'))
      .requiredOption('--plugin <plugin>', 'plugin id or plugin.json name')
      .option('--enable', 'enable it right away (configs start disabled)'),
  )
    .description('create the config of a plugin for a team, validated against plugin.json')
    .action(async (options: WriteOptions & { team: number; plugin: string; enable?: boolean }) => {
      const values = Object.fromEntries(parseKeyValues('--config', options.config))
      const attachments = await readAttachments(options.attachment)
      printResult(
        await withManagement((ctx) =>
          createConfig(ctx, {
            teamId: options.team,
            plugin: options.plugin,
            config: values,
            attachments,
            order: options.order,
            enabled: options.enable === true,
            pinnedVersion: options.pinVersion,
          }),
        ),
      )
    })
  writeOptions(config.command('update').argument('<configId>', 'plugin config id', positiveInt('configId')))
    .option('--unpin', "stop pinning: run the plugin's current version again")
    .option('--default <key>', 'clear a field, bringing back its plugin.json default if it has one (repeatable)', collect, [])
    .description('change some fields of a config; fields not given (secrets too) keep their value')
    .action(async (id: number, options: WriteOptions & { unpin?: boolean; default: string[] }) => {
      const values: Record<string, string | null> = Object.fromEntries(parseKeyValues('--config', options.config))
      for (const key of options.default) {
        if (key in values) throw new Error(`--default ${key} and --config ${key}=… contradict each other; give one`)
        values[key] = null
      }
      const attachments = await readAttachments(options.attachment)
      const pinnedVersion = pinChange(options)
      printResult(await withManagement((ctx) => updateConfig(ctx, id, { config: values, attachments, order: options.order, pinnedVersion })))
    })
  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    config
      .command(name)
      .argument('<configId>', 'plugin config id', positiveInt('configId'))
      .description(`${name} a config; workers pick the change up within seconds`)
      .action(async (id: number) => printResult(await withManagement((ctx) => setConfigEnabled(ctx, id, enabled))))
  }
  config
    .command('delete')
    .argument('<configId>', 'plugin config id', positiveInt('configId'))
    .description('delete a config with its attachments and storage')
    .action(async (id: number) => printResult(await withManagement((ctx) => deleteConfig(ctx, id))))
  config
    .command('get')
    .argument('<configId>', 'plugin config id', positiveInt('configId'))
    .description('show a config (secret values are never shown)')
    .action(async (id: number) => printResult(await withManagement((ctx) => getConfig(ctx, id))))
  config
    .command('list')
    .requiredOption('--team <id>', 'team id', positiveInt('--team'))
    .description("list a team's configs in chain order")
    .action(async (options: { team: number }) => printResult(await withManagement((ctx) => listConfigs(ctx, options.team))))
}
