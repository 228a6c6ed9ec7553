import type { Command } from 'commander'
import { deletePlugin, getPlugin, installPluginFromPath, listPlugins, readLogs, setCurrentVersion } from '@plugin-server/management'
import type { PluginSummary } from '@plugin-server/management'
import { withManagement } from '../cli-context'
import { jsonOutput, printError, printResult, terminalText } from '../output'
import { printAllPages } from '../print-pages'
import { collect, positiveInt } from './option-parsers'

interface LogsOptions {
  follow?: boolean
  level: string[]
  source: string[]
  search?: string
  limit: number
  interval: number
}

/** A log row for a terminal: the plugin wrote the message, so it goes through terminalText. */
export function logLine(row: { timestamp: Date | string; type: string; source: string; message: string }): string {
  const time = row.timestamp instanceof Date ? row.timestamp.toISOString() : row.timestamp
  return terminalText(`${time}  ${row.type.padEnd(5)}  ${row.source.padEnd(7)}  ${row.message}`)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export function registerPluginManagement(plugin: Command): void {
  plugin
    .command('install')
    .argument('<path>', 'plugin directory, .zip or .tar.gz')
    .description('store a plugin (a changed source becomes a new version; identical source is a no-op)')
    .action(async (path: string) => {
      const result = await withManagement((ctx) => installPluginFromPath(ctx, path))
      if (result.status === 'unchanged') printError(`plugin-server: ${result.message}`)
      printResult(result)
    })
  plugin
    .command('list')
    .description('list installed plugins')
    .action(() => withManagement((ctx) => printAllPages<PluginSummary>((last, size) => listPlugins(ctx, last?.name ?? '', size))))
  plugin
    .command('get')
    .argument('<plugin>', 'plugin id or plugin.json name')
    .description('show a plugin: plugin.json and its versions')
    .action(async (ref: string) => printResult(await withManagement((ctx) => getPlugin(ctx, ref))))
  plugin
    .command('rollback')
    .argument('<plugin>', 'plugin id or plugin.json name')
    .requiredOption('--to-version <n>', 'the stored version to make current (see plugin get)', positiveInt('--to-version'))
    .description('make an earlier (or later) stored version current: configs without a pin switch to it on every worker within seconds')
    .action(async (ref: string, options: { toVersion: number }) => {
      const result = await withManagement((ctx) => setCurrentVersion(ctx, ref, options.toVersion))
      if (result.status === 'unchanged') printError(`plugin-server: ${result.message}`)
      printResult(result)
    })
  plugin
    .command('delete')
    .argument('<plugin>', 'plugin id or plugin.json name')
    .option('--force', 'also delete the configs that use it (refused otherwise, naming them)')
    .description('delete a plugin and all its versions')
    .action(async (ref: string, options: { force?: boolean }) =>
      printResult(await withManagement((ctx) => deletePlugin(ctx, ref, { force: options.force === true, forceHint: 'pass --force' }))),
    )
  plugin
    .command('logs')
    .argument('<configId>', 'plugin config id', positiveInt('configId'))
    .option('-f, --follow', 'keep printing new rows as they are written, until Ctrl-C')
    .option('--level <level>', 'only this level: debug, log, info, warn, error (repeatable, or comma-separated)', collect, [])
    .option('--source <source>', 'only this source: system, plugin, console (repeatable, or comma-separated)', collect, [])
    .option('--search <text>', 'only messages containing this text')
    .option('--limit <n>', 'how many of the latest rows to print first', positiveInt('--limit'), 100)
    .option('--interval <ms>', 'poll interval with --follow', positiveInt('--interval'), 1000)
    .description("print a plugin config's log rows: aligned text at a terminal, one JSON object per line otherwise (or with --json)")
    .action(async (configId: number, options: LogsOptions) => {
      await withManagement(async (ctx) => {
        const query = { levels: options.level, sources: options.source, search: options.search }
        let rows = await readLogs(ctx, configId, { ...query, limit: options.limit })
        let lastId = 0
        // Ctrl-C ends the loop instead of the process, so the connections close cleanly.
        let stopped = false
        if (options.follow) process.once('SIGINT', () => (stopped = true))
        for (;;) {
          for (const row of rows) process.stdout.write(`${jsonOutput() ? JSON.stringify(row) : logLine(row)}\n`)
          if (rows.length > 0) lastId = rows[rows.length - 1].id
          if (!options.follow) return
          await sleep(options.interval)
          if (stopped) return
          rows = await readLogs(ctx, configId, { ...query, afterId: lastId, limit: 1000 })
        }
      })
    })
}
