import { fetchGuard, IsolatedVmPluginVm, MAX_SOCKETS_PER_INSTANCE, SocketCount } from '@plugin-server/plugin-vm'
import type { ByteBudget, PluginEvent, SharedByteBudget } from '@plugin-server/plugin-vm'
import { GeoIpLocator, loadAttachments, PostgresPluginStorage, RedisPluginCache, RedisPluginCursor, TeamRedisAccount } from '@plugin-server/plugin-runtime'
import { CallRecorder } from './call-recorder'
import { Deadline } from './deadline'
import { HeldBytes } from './held-bytes'
import type { TryContext, TryInput, TryResult, TrySettings } from './interfaces'
import { attachmentSecrets } from '@plugin-server/secrets'
import { findTeamById } from '@plugin-server/db'
import { loadTrySpecs, TrySpec } from './load-try-targets'
import { OverlayCache } from './overlay-cache'
import { OverlayCursor } from './overlay-cursor'
import { OverlayStorage } from './overlay-storage'
import { parseTryEvent, parseTryTarget } from './parse-try-input'
import { toIngestEvent } from './processed-event'
import { RecordingHost } from './recording-host'
import { EVENT_LIMITS, Redactor } from './redactor'
import { RunMemory, TRY_RUN_ISOLATE_LIMITS } from './run-memory'
import { runTryChain } from './run-try-chain'
import { defaultTryGate } from './try-gate'
import { TryPlugin } from './try-plugin'
import { trySource } from './try-source'

/** Long enough for a plugin that fetches once or twice, short enough to wait for in a browser. */
export const DEFAULT_TRY_DEADLINE_MS = 10_000
/** A dry run only previews what a GET answers; also what the run's responses being read may hold together. */
export const MAX_TRY_FETCH_BYTES = 10 * 1024 * 1024
/** Sockets a dry run's plugins may have open together (fetch, posthog.api): one worker instance's worth for the whole chain. */
export const MAX_TRY_SOCKETS = MAX_SOCKETS_PER_INSTANCE
/**
 * What the capture process may hold for a dry run's plugins outside their isolates: responses being
 * read (MAX_TRY_FETCH_BYTES of it), cache values read and not yet received, host work inputs. One
 * plugin's worth of a worker's bounds (50 MB of responses, 16 MiB of cache reads and of host work)
 * for the whole chain.
 */
export const MAX_TRY_HOST_HELD_BYTES = 82 * 1024 * 1024

/** The workers' defaults (see libs/core config); with no allowlist, private addresses are refused. */
export const DEFAULT_TRY_SETTINGS: TrySettings = {
  memoryLimitMb: 128,
  timeoutMs: 30_000,
  fetchAllowedHosts: [],
  geoipDatabasePath: '',
  posthogApiHost: 'https://app.posthog.com',
  posthogPersonalApiKey: '',
}

const locators = new Map<string, GeoIpLocator>()

/** One locator per database and process: each holds the whole database in memory. */
function sharedLocator(path: string): GeoIpLocator {
  let locator = locators.get(path)
  if (!locator) locators.set(path, (locator = new GeoIpLocator(path)))
  return locator
}

function withDefaults(given: Partial<TrySettings> = {}): TrySettings {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<TrySettings>
  return { ...DEFAULT_TRY_SETTINGS, ...defined }
}

/**
 * Runs a sample event through a plugin config, a plugin the team has not configured yet, or the
 * team's whole chain, without side effects: see RecordingHost for what is answered and what is
 * only recorded. Logs are returned, never written to plugin_log_entries; secret config values are
 * used but scrubbed from everything returned. Errors inside plugins are results; only bad input
 * (ManagementError), a foreign config (403) or a full gate (429) reject.
 */
export async function tryEvent(ctx: TryContext, input: TryInput): Promise<TryResult> {
  const parsed = parseTryEvent(input.event, input.teamId)
  const target = parseTryTarget(input.target)
  const specs = await loadTrySpecs(ctx, input.teamId, target)
  // As capture queues it: no address for a team that anonymises IPs.
  const event = (await findTeamById(ctx.pool, input.teamId))?.anonymize_ips ? { ...parsed, ip: null } : parsed
  const release = await (ctx.gate ?? defaultTryGate).acquire(input.teamId)
  const started = Date.now()
  const settings = withDefaults(ctx.settings)
  const deadline = new Deadline(ctx.deadlineMs ?? DEFAULT_TRY_DEADLINE_MS)
  let redactor: Redactor
  try {
    // A stored config's attachments are read before anything runs: its secret files' strings are scrubbed from all it returns.
    for (const spec of specs)
      if (spec.attachments === undefined && spec.configId !== null && !spec.loadError) spec.attachments = await loadAttachments(ctx.pool, spec.configId)
    redactor = new Redactor(specs.flatMap((s) => [...s.secrets, ...secretFileStrings(s)]))
  } catch (err) {
    deadline.close()
    release()
    throw err
  }
  const hostHeld: SharedByteBudget = {
    bytes: 0,
    limit: MAX_TRY_HOST_HELD_BYTES,
    name: "what the capture process holds for this dry run's plugins (responses being read, cache values read, host work inputs)",
    variable: 'MAX_TRY_HOST_HELD_BYTES',
  }
  const run: RunParts = {
    deadline,
    redactor,
    held: new HeldBytes(),
    hostHeld,
    fetchInFlight: { bytes: 0, limit: MAX_TRY_FETCH_BYTES, within: hostHeld },
    sockets: new SocketCount(MAX_TRY_SOCKETS, undefined, "this dry run's plugins (MAX_TRY_SOCKETS)"),
    memory: new RunMemory(
      TRY_RUN_ISOLATE_LIMITS * settings.memoryLimitMb * 1024 * 1024,
      `${TRY_RUN_ISOLATE_LIMITS} × PLUGIN_MEMORY_LIMIT_MB, ${settings.memoryLimitMb} MB`,
    ),
  }
  const plugins: TryPlugin[] = []
  try {
    for (const spec of specs) plugins.push(await tryPlugin(ctx, spec, settings, run))
    const chain = await runTryChain(plugins, toIngestEvent(event), settings.maxEventBytes)
    ctx.logger.info(
      { teamId: input.teamId, target: target.kind, pluginConfigIds: specs.map((s) => s.configId), steps: chain.steps.length, ms: Date.now() - started },
      'plugin dry run',
    )
    return {
      input: redactor.json(event, EVENT_LIMITS) as PluginEvent,
      output: chain.output === null ? null : (redactor.json(chain.output, EVENT_LIMITS) as PluginEvent),
      dropped: chain.dropped,
      steps: chain.steps,
    }
  } finally {
    for (const plugin of plugins) plugin.dispose()
    deadline.close()
    release()
  }
}

/** The strings of a spec's secret attachments (attachmentSecrets), scrubbed like its secret values. */
function secretFileStrings(spec: TrySpec): string[] {
  return spec.secretAttachmentKeys.flatMap((key) => {
    const file = spec.attachments?.[key]
    return file ? attachmentSecrets(typeof file.contents === 'string' ? Buffer.from(file.contents) : file.contents) : []
  })
}

/** Shared by every plugin of one run, so the run's bounds hold for the chain as a whole. */
interface RunParts {
  deadline: Deadline
  /** A chain's plugins may pass each other's secrets along in the event. */
  redactor: Redactor
  /** Cache, storage and cursor writes kept in memory (MAX_TRY_HELD_BYTES). */
  held: HeldBytes
  /** What the host holds for the run's plugins outside their isolates (MAX_TRY_HOST_HELD_BYTES). */
  hostHeld: SharedByteBudget
  /** Response bodies being read, all plugins together: one response's limit, within `hostHeld`. */
  fetchInFlight: ByteBudget
  /** Sockets open, all plugins together (MAX_TRY_SOCKETS): a team's chain may have many configs. */
  sockets: SocketCount
  /** The isolates (TRY_RUN_ISOLATE_LIMITS × PLUGIN_MEMORY_LIMIT_MB). */
  memory: RunMemory
}

async function tryPlugin(ctx: TryContext, spec: TrySpec, settings: TrySettings, run: RunParts): Promise<TryPlugin> {
  const { pool, redis, queuePrefix } = ctx
  const { deadline, redactor, held } = run
  const id = spec.configId
  const recorder = new CallRecorder(redactor)
  // Try it reads a config's namespaces and never writes them: no limit to keep.
  const account = new TeamRedisAccount(redis, queuePrefix, spec.teamId, 0)
  const cursor = id === null ? null : new RedisPluginCursor(redis, queuePrefix, id, account)
  const host = new RecordingHost({
    config: spec.config,
    // Read before the run began (tryEvent), for their secrets; none for a plugin not configured or a config that cannot run.
    attachments: spec.attachments ?? {},
    recorder,
    // A config reads its own namespaces (never writes them: no limit to keep); a plugin not configured yet has none.
    cache: new OverlayCache(
      id === null ? null : new RedisPluginCache(redis, queuePrefix, spec.pluginId, new TeamRedisAccount(redis, queuePrefix, spec.teamId, 0)),
      held,
    ),
    storage: new OverlayStorage(id === null ? null : new PostgresPluginStorage(pool, id, spec.teamId, 0), held),
    cursor: new OverlayCursor(cursor && ((key) => cursor.value(key)), held),
    geoip: (ip) => (ctx.geoip ?? sharedLocator(settings.geoipDatabasePath)).locate(ip, spec.teamId),
    fetchGuard: fetchGuard(settings.fetchAllowedHosts, undefined, settings.closedServices),
    signal: deadline.signal,
    maxFetchBytes: MAX_TRY_FETCH_BYTES,
    fetchInFlight: run.fetchInFlight,
    sockets: run.sockets,
    fetchTimeoutMs: settings.timeoutMs,
    api: {
      host: settings.posthogApiHost,
      personalApiKey: settings.posthogPersonalApiKey,
      projectApiKey: spec.teamApiToken,
      guard: fetchGuard(settings.fetchAllowedHosts, undefined, settings.closedServices),
    },
  })
  return new TryPlugin({
    spec,
    host,
    recorder,
    deadline,
    settings,
    vm: ctx.vm ?? new IsolatedVmPluginVm(),
    source: () => trySource(pool, spec.pluginId, spec.contentHash),
    memory: run.memory,
    shared: { sockets: run.sockets, held: run.hostHeld },
  })
}
