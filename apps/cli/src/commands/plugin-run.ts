import { Command } from 'commander'
import { promises as fs } from 'fs'
import { basename, extname } from 'path'
import {
  IsolatedVmPluginVm,
  LocalHost,
  PluginAttachment,
  PluginError,
  PluginEvent,
  PluginInstance,
  PluginMethodName,
  PluginSource,
  parseAllowedHosts,
  readPlugin,
} from '@plugin-server/plugin-vm'

export interface PluginRunOptions {
  event: string
  config: string[]
  attachment: string[]
  timeout?: string
}

interface StageError {
  stage: string
  name: string
  message: string
  isRetryError: boolean
}

const CONTENT_TYPES: Record<string, string> = { '.json': 'application/json', '.csv': 'text/csv', '.txt': 'text/plain', '.mmdb': 'application/octet-stream' }

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function splitPair(raw: string, flag: string): [string, string] {
  const eq = raw.indexOf('=')
  if (eq <= 0) throw new Error(`${flag} expects key=value, got "${raw}"`)
  return [raw.slice(0, eq), raw.slice(eq + 1)]
}

/** A PluginEvent JSON file, or stdin for `-`. */
export async function readEvent(source: string): Promise<PluginEvent> {
  const text = source === '-' ? await readStdin() : await fs.readFile(source, 'utf8')
  const event = JSON.parse(text) as PluginEvent
  if (typeof event !== 'object' || event === null || typeof event.event !== 'string') {
    throw new Error('--event must be a PluginEvent JSON object with an "event" string')
  }
  return event
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function buildConfig(source: PluginSource, pairs: string[]): Record<string, unknown> {
  const config: Record<string, unknown> = {}
  for (const field of source.pluginJson.config) {
    if (field.key && field.default !== undefined && field.type !== 'attachment') config[field.key] = field.default
  }
  for (const raw of pairs) {
    const [key, value] = splitPair(raw, '--config')
    config[key] = value
  }
  return config
}

async function buildAttachments(pairs: string[]): Promise<Record<string, PluginAttachment>> {
  const attachments: Record<string, PluginAttachment> = {}
  for (const raw of pairs) {
    const [key, path] = splitPair(raw, '--attachment')
    const contents = await fs.readFile(path)
    attachments[key] = { file_name: basename(path), content_type: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream', contents }
  }
  return attachments
}

function missingRequired(source: PluginSource, config: Record<string, unknown>, attachments: Record<string, PluginAttachment>): string[] {
  return source.pluginJson.config
    .filter((f) => f.key && f.required && config[f.key] === undefined && attachments[f.key] === undefined)
    .map((f) => f.key as string)
}

async function stage(instance: PluginInstance, errors: StageError[], method: PluginMethodName, args: unknown[]): Promise<{ ran: boolean; value?: unknown }> {
  if (!instance.hasMethod(method)) return { ran: false }
  try {
    return { ran: true, value: await instance.call(method, args) }
  } catch (error) {
    const e = error as Error
    errors.push({
      stage: method,
      name: error instanceof PluginError ? error.pluginErrorName : e.name,
      message: e.message,
      isRetryError: error instanceof PluginError && error.isRetryError,
    })
    return { ran: false }
  }
}

/** Runs one event through a plugin with a LocalHost (dry run: nothing leaves the process except fetch). */
export async function runPluginOnce(path: string, options: PluginRunOptions): Promise<{ output: Record<string, unknown>; exitCode: number }> {
  const source = await readPlugin(path)
  const event = await readEvent(options.event)
  const config = buildConfig(source, options.config)
  const attachments = await buildAttachments(options.attachment)
  const missing = missingRequired(source, config, attachments)
  if (missing.length > 0) throw new Error(`plugin ${source.name} requires config ${missing.join(', ')} (pass --config key=value)`)
  const host = new LocalHost({ config, attachments })
  const timeoutMs = options.timeout ? Number(options.timeout) : undefined
  // The same fetch policy as the workers: a dry run on an operator's machine is no licence to reach its network.
  const fetchAllowedHosts = parseAllowedHosts(process.env.PLUGIN_FETCH_ALLOWED_HOSTS)
  const instance = await new IsolatedVmPluginVm().load(source, host, { configId: 'local', timeoutMs, fetchAllowedHosts })
  const errors: StageError[] = []
  let processed: PluginEvent | null = event
  try {
    const setup = await stage(instance, errors, 'setupPlugin', [])
    if (errors.length === 0) {
      if (instance.hasMethod('processEvent')) {
        const result = await stage(instance, errors, 'processEvent', [event])
        processed = result.ran ? ((result.value as PluginEvent | null) ?? null) : null
      }
      if (processed && errors.length === 0) {
        await stage(instance, errors, 'onEvent', [processed])
        await stage(instance, errors, 'exportEvents', [[processed]])
      }
      void setup
      await stage(instance, errors, 'teardownPlugin', [])
    }
  } finally {
    instance.dispose()
  }
  const output = {
    plugin: { name: source.name, methods: instance.methods, jobs: instance.jobNames },
    event: processed,
    console: host.logs.map((l) => ({ level: l.level, message: l.message })),
    errors,
    captures: host.captures.map((c) => ({ event: c.event, properties: c.properties })),
    jobs: host.jobs.map((j) => ({ name: j.name, payload: j.payload, runAt: j.runAt.toISOString() })),
    cacheWrites: host.cache.writes,
    storage: Object.fromEntries(host.storageData),
    metrics: host.metricUpdates,
  }
  return { output, exitCode: errors.length > 0 ? 1 : 0 }
}

export function registerPluginRun(plugin: Command): void {
  plugin
    .command('run <path>')
    .description('try a plugin (directory, .zip or .tar.gz) on one event without Redis or Postgres')
    .requiredOption('--event <file>', 'PluginEvent JSON file, or - for stdin')
    .option('--config <key=value>', 'plugin config value (repeatable)', collect, [])
    .option('--attachment <key=path>', 'attachment file (repeatable)', collect, [])
    .option('--timeout <ms>', 'deadline per plugin call in milliseconds')
    .action(async (path: string, options: PluginRunOptions) => {
      try {
        const { output, exitCode } = await runPluginOnce(path, options)
        process.stdout.write(JSON.stringify(output, null, 2) + '\n')
        const failed = output.errors as StageError[]
        if (failed.length > 0) process.stderr.write(`plugin run failed: ${failed.map((e) => e.message).join('; ')}\n`)
        process.exitCode = exitCode
      } catch (error) {
        process.stderr.write(`plugin run failed: ${(error as Error).message}\n`)
        process.exitCode = 1
      }
    })
}
