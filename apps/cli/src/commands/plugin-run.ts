import { randomUUID } from 'crypto'
import { Command } from 'commander'
import { validateConfig } from '@plugin-server/management'
import {
  BatchEventResult,
  IsolatedVmPluginVm,
  LocalHost,
  PluginAttachment,
  PluginError,
  PluginEvent,
  PluginInstance,
  PluginMethodName,
  PluginSource,
  SerializedPluginError,
  parseAllowedHosts,
  pluginStackFrames,
  readPlugin,
} from '@plugin-server/plugin-vm'
import { printError } from '../output'
import { collect, parseKeyValues } from './option-parsers'
import { readEvent, readEvents } from './plugin-run-input'
import { readAttachments } from './read-attachments'

export interface PluginRunOptions {
  event?: string
  events?: string
  config: string[]
  attachment: string[]
  timeout?: string
}

interface StageError {
  stage: string
  /** With --events: which input event (from 0) the error is about. */
  index?: number
  name: string
  message: string
  isRetryError: boolean
  /** The plugin's frames (its own files and lines), when it threw. */
  stack?: string
}

/** Events per processEvent call with --events: about an ingest batch, so a long file does not race one call's deadline. */
const BATCH_SIZE = 500

async function buildAttachments(values: string[]): Promise<Record<string, PluginAttachment>> {
  const read = await readAttachments(values)
  return Object.fromEntries(read.map((a) => [a.key, { file_name: a.file_name, content_type: a.content_type, contents: a.contents }]))
}

function missingRequired(source: PluginSource, given: Record<string, string>, attachments: Record<string, PluginAttachment>): string[] {
  return source.pluginJson.config
    .filter((f) => f.key && f.required && f.default === undefined && given[f.key] === undefined && attachments[f.key] === undefined)
    .map((f) => f.key as string)
}

/** The config `config create` would store: the same checks (choices, attachments, unknown keys) and defaults. */
function buildConfig(source: PluginSource, pairs: string[], attachments: Record<string, PluginAttachment>): Record<string, string> {
  const given = Object.fromEntries(parseKeyValues('--config', pairs))
  const missing = missingRequired(source, given, attachments)
  if (missing.length > 0) throw new Error(`plugin ${source.name} requires config ${missing.join(', ')} (pass --config key=value)`)
  const keys = Object.keys(attachments)
  return validateConfig({ pluginName: source.name, schema: source.pluginJson.config, stored: {}, given, attachmentKeys: new Set(keys), uploadKeys: keys })
}

/** Only the plugin's stack: the host's own frames say nothing about the plugin. */
function withStack(stack: string | undefined): { stack?: string } {
  const frames = pluginStackFrames(stack)
  return frames === null ? {} : { stack: frames }
}

function stageError(stage: string, error: unknown, index?: number): StageError {
  const e = error as Error
  return {
    stage,
    ...(index === undefined ? {} : { index }),
    name: error instanceof PluginError ? error.pluginErrorName : e.name,
    message: e.message,
    isRetryError: error instanceof PluginError && error.isRetryError,
    ...withStack(error instanceof PluginError ? error.pluginStack : undefined),
  }
}

function batchError(instance: PluginInstance, error: SerializedPluginError, index: number | undefined): StageError {
  const { name, message, isRetryError, stack } = error
  const label = `plugin ${instance.pluginName} (config ${instance.configId}): processEvent failed: ${name}: ${message}`
  return { stage: 'processEvent', ...(index === undefined ? {} : { index }), name, message: label, isRetryError, ...withStack(stack) }
}

/** Events processEvent failed on; the ingest chain keeps such an event as it was. */
interface Processed {
  events: (PluginEvent | null)[]
  failed: number[]
}

async function stage(instance: PluginInstance, errors: StageError[], method: PluginMethodName, args: unknown[], index?: number): Promise<void> {
  if (!instance.hasMethod(method)) return
  try {
    await instance.call(method, args)
  } catch (error) {
    errors.push(stageError(method, error, index))
  }
}

/**
 * processEvent (or processEventBatch) over the events, in batches, checked as the ingest chain
 * checks results: one processed event or null (dropped) per input. A failed event is kept as it
 * was, as the chain stores it, its index in `failed` and its error listed.
 */
async function processEvents(instance: PluginInstance, errors: StageError[], events: PluginEvent[], numbered: boolean): Promise<Processed> {
  if (!instance.hasMethod('processEvent')) return { events, failed: [] }
  const processed: (PluginEvent | null)[] = []
  const failed: number[] = []
  for (let start = 0; start < events.length; start += BATCH_SIZE) {
    const batch = events.slice(start, start + BATCH_SIZE)
    let results: BatchEventResult[]
    try {
      results = await instance.processEventBatch(batch)
    } catch (error) {
      // The whole call failed (a limit, the isolate gone): nothing after it can run either.
      errors.push(stageError('processEvent', error))
      return { events, failed: events.map((_, i) => i) }
    }
    results.forEach((result, i) => {
      if (result.ok) return processed.push(result.event)
      errors.push(batchError(instance, result.error, numbered ? start + i : undefined))
      failed.push(start + i)
      processed.push(batch[i])
    })
  }
  return { events: processed, failed }
}

/**
 * Events without a uuid get one, as capture gives them: processEventBatch results are matched to
 * their events by uuid, so dropping one of several uuid-less events would shift the others.
 */
function withUuids(events: PluginEvent[]): PluginEvent[] {
  return events.map((e) => (typeof e.uuid === 'string' && e.uuid !== '' ? e : { ...e, uuid: randomUUID() }))
}

/**
 * Runs events through a plugin with a LocalHost (dry run: nothing leaves the process except
 * fetch). One instance serves them all: setupPlugin once, processEvent over the events, onEvent for
 * each processed one in order, exportEvents with all of them, teardownPlugin.
 */
export async function runPluginOnce(path: string, options: PluginRunOptions): Promise<{ output: Record<string, unknown>; exitCode: number }> {
  if ((options.event === undefined) === (options.events === undefined)) throw new Error('give exactly one of --event <file|-> or --events <file|->')
  const source = await readPlugin(path)
  const many = options.events !== undefined
  const inputs = options.events !== undefined ? withUuids(await readEvents(options.events)) : [await readEvent(options.event as string)]
  const attachments = await buildAttachments(options.attachment)
  const config = buildConfig(source, options.config, attachments)
  const host = new LocalHost({ config, attachments })
  if (options.timeout !== undefined && !/^[1-9]\d*$/.test(options.timeout))
    throw new Error(`--timeout must be a positive number of milliseconds, got "${options.timeout}"`)
  const timeoutMs = options.timeout === undefined ? undefined : Number(options.timeout)
  // The same fetch policy as the workers: a dry run on an operator's machine is no licence to reach its network.
  const fetchAllowedHosts = parseAllowedHosts(process.env.PLUGIN_FETCH_ALLOWED_HOSTS)
  const instance = await new IsolatedVmPluginVm().load(source, host, { configId: 'local', timeoutMs, fetchAllowedHosts })
  const errors: StageError[] = []
  let processed: (PluginEvent | null)[] = inputs.map(() => null)
  let failed: number[] = []
  try {
    await stage(instance, errors, 'setupPlugin', [])
    if (errors.length === 0) {
      ;({ events: processed, failed } = await processEvents(instance, errors, inputs, many))
      const kept = processed.filter((e): e is PluginEvent => e !== null)
      if (kept.length > 0 && !instance.disposed) {
        for (let i = 0; i < processed.length; i++) {
          if (processed[i] !== null) await stage(instance, errors, 'onEvent', [processed[i]], many ? i : undefined)
        }
        await stage(instance, errors, 'exportEvents', [kept])
      }
      await stage(instance, errors, 'teardownPlugin', [])
    }
  } finally {
    instance.dispose()
  }
  const output = {
    plugin: { name: source.name, methods: instance.methods, jobs: instance.jobNames },
    ...(many ? { events: processed } : { event: processed[0] }),
    // Events processEvent failed on, kept as they were (as the ingest chain stores them): indexes with --events.
    ...(many ? { failedEvents: failed } : { failed: failed.length > 0 }),
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

/** A failed step for people: the message, then the plugin's frames indented below it. */
function describeError(e: StageError): string {
  return (e.index === undefined ? '' : `event ${e.index}: `) + e.message + (e.stack === undefined ? '' : `\n${e.stack}`)
}

export function registerPluginRun(plugin: Command): void {
  plugin
    .command('run <path>')
    .description('try a plugin (directory, .zip or .tar.gz) on events without Redis or Postgres')
    .option('--event <file>', 'PluginEvent JSON file, or - for stdin')
    .option('--events <file>', 'several events: a JSON array or JSON lines, or - for stdin; one plugin instance serves them all')
    .option('--config <key=value>', 'plugin config value (repeatable)', collect, [])
    .option('--attachment <key=path>', 'attachment file (repeatable)', collect, [])
    .option('--timeout <ms>', 'deadline per plugin call in milliseconds')
    .action(async (path: string, options: PluginRunOptions) => {
      try {
        const { output, exitCode } = await runPluginOnce(path, options)
        process.stdout.write(JSON.stringify(output, null, 2) + '\n')
        const failed = output.errors as StageError[]
        if (failed.length > 0) printError(`plugin run failed: ${failed.map(describeError).join('\n')}`)
        process.exitCode = exitCode
      } catch (error) {
        printError(`plugin run failed: ${(error as Error).message}`)
        process.exitCode = 1
      }
    })
}
