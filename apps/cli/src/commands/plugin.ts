import type { Command } from 'commander'
import { getPlugin, installPluginFromPath, listPlugins, readLogs } from '@plugin-server/meta'
import { printJson, withManagement } from '../cli-context'
import { collect, positiveInt } from './option-parsers'

interface LogsOptions {
  follow?: boolean
  level: string[]
  source: string[]
  search?: string
  limit?: number
  interval: number
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export function registerPluginManagement(plugin: Command): void {
  plugin
    .command('install')
    .argument('<path>', 'plugin directory, .zip or .tar.gz')
    .description('store a plugin (a changed source becomes a new version; identical source is a no-op)')
    .action(async (path: string) => {
      const result = await withManagement((ctx) => installPluginFromPath(ctx, path))
      if (result.status === 'unchanged') process.stderr.write(`plugin-server: ${result.message}\n`)
      printJson(result)
    })
  plugin
    .command('list')
    .description('list installed plugins')
    .action(async () => printJson(await withManagement((ctx) => listPlugins(ctx))))
  plugin
    .command('get')
    .argument('<plugin>', 'plugin id or plugin.json name')
    .description('show a plugin: plugin.json and its versions')
    .action(async (ref: string) => printJson(await withManagement((ctx) => getPlugin(ctx, ref))))
  plugin
    .command('logs')
    .argument('<configId>', 'plugin config id', positiveInt('configId'))
    .option('-f, --follow', 'keep printing new rows as they are written, until Ctrl-C')
    .option('--level <level>', 'only this level: debug, log, info, warn, error (repeatable, or comma-separated)', collect, [])
    .option('--source <source>', 'only this source: system, plugin, console (repeatable, or comma-separated)', collect, [])
    .option('--search <text>', 'only messages containing this text')
    .option('--limit <n>', 'how many of the latest rows to print first (default 100)', positiveInt('--limit'))
    .option('--interval <ms>', 'poll interval with --follow (default 1000)', positiveInt('--interval'), 1000)
    .description("print a plugin config's log rows, one JSON object per line")
    .action(async (configId: number, options: LogsOptions) => {
      await withManagement(async (ctx) => {
        const query = { levels: options.level, sources: options.source, search: options.search }
        let rows = await readLogs(ctx, configId, { ...query, limit: options.limit })
        let lastId = 0
        // Ctrl-C ends the loop instead of the process, so the connections close cleanly.
        let stopped = false
        if (options.follow) process.once('SIGINT', () => (stopped = true))
        for (;;) {
          for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`)
          if (rows.length > 0) lastId = rows[rows.length - 1].id
          if (!options.follow) return
          await sleep(options.interval)
          if (stopped) return
          rows = await readLogs(ctx, configId, { ...query, afterId: lastId, limit: 1000 })
        }
      })
    })
}
