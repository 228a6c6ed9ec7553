import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ConfigError, loadConfig } from '@plugin-server/core'
import { REPO_ROOT } from '../harness/processes'

/** The plugins' config as a container limited to `bytes` would read it. */
function pluginsWithMemoryLimit(bytes: number, env: Record<string, string> = {}) {
  const original = process.constrainedMemory
  process.constrainedMemory = () => bytes
  try {
    return loadConfig(env).plugins
  } finally {
    process.constrainedMemory = original
  }
}
describe('loadConfig', () => {
  it('gives working defaults with an empty environment', () => {
    const config = loadConfig({})
    assert.equal(config.queuePrefix, '{ps}')
    assert.equal(config.redisUrl, 'redis://127.0.0.1:6379')
    assert.equal(config.capture.batchMaxEvents, 200)
  })

  it('reads values from the environment', () => {
    const config = loadConfig({ QUEUE_PREFIX: 'prod{ps}', INGEST_CONCURRENCY: '8', CAPTURE_TRUST_PROXY: 'true', LOG_FORMAT: 'pretty' })
    assert.equal(config.queuePrefix, 'prod{ps}')
    assert.equal(config.ingest.concurrency, 8)
    assert.equal(config.capture.trustProxy, true)
    assert.equal(config.logFormat, 'pretty')
  })

  it('names each variable set with a known prefix that it does not read, with the known name it is closest to, leaving Kubernetes service links, the project’s own tooling (PLUGIN_SERVER_) and other tools’ prefixes (JOB_, LOG_) alone', () => {
    const config = loadConfig({
      EXPORT_TEAM_MAX_PENDING_EVENT: '5',
      PLUGIN_TEAM_MEMORY_LIMT_MB: '64',
      PLUGIN_WHATEVER_ELSE: '1',
      PLUGIN_SERVER_CAPTURE_PORT: 'tcp://10.0.0.1:8000',
      PLUGIN_SERVER_CAPTURE_PORT_8000_TCP_ADDR: '10.0.0.1',
      PLUGIN_SERVER_CAPTURE_SERVICE_HOST: '10.0.0.1',
      NODE_OPTIONS: '--max-old-space-size=512',
      PLUGIN_SERVER_LOCAL_NODE: '1',
      JOB_NAME: 'nightly',
      LOG_DIR: '/var/log',
      PLUGIN_TIMEOUT_MS: '20000',
    })
    assert.deepEqual(config.unknownVariables, [
      'EXPORT_TEAM_MAX_PENDING_EVENT (did you mean EXPORT_TEAM_MAX_PENDING_EVENTS?)',
      'PLUGIN_TEAM_MEMORY_LIMT_MB (did you mean PLUGIN_TEAM_MEMORY_LIMIT_MB?)',
      'PLUGIN_WHATEVER_ELSE',
    ])
    assert.equal(config.plugins.timeoutMs, 20000)
    assert.deepEqual(loadConfig({}).unknownVariables, [])
  })

  it('bounds the work done for a plugin: defaults, overrides and a wrong value named', () => {
    const { plugins } = loadConfig({})
    assert.deepEqual(
      [
        plugins.hostWorkMaxBytes,
        plugins.backgroundCpuMsPerMinute,
        plugins.capturesPerEvent,
        plugins.capturesPerCall,
        plugins.cacheMaxKeyBytes,
        plugins.cacheMaxValueBytes,
        plugins.storageMaxValueBytes,
        plugins.jobMaxPayloadBytes,
        plugins.attachmentMaxBytes,
        plugins.breakerMaxBreaches,
        plugins.breakerWindowMs,
      ],
      [16 * 1024 * 1024, 5000, 10, 1000, 1024, 1024 * 1024, 1024 * 1024, 1024 * 1024, 10 * 1024 * 1024, 3, 600_000],
    )
    assert.equal(loadConfig({ PLUGIN_CAPTURES_PER_EVENT: '2', PLUGIN_BREAKER_WINDOW_MS: '60000' }).plugins.capturesPerEvent, 2)
    assert.throws(
      () => loadConfig({ PLUGIN_BACKGROUND_CPU_MS_PER_MINUTE: '0' }),
      /PLUGIN_BACKGROUND_CPU_MS_PER_MINUTE: expected an integer between 10 and 60000, got "0"/,
    )
  })

  it("sizes a plugin isolate's semi-spaces at 8 MB unless PLUGIN_SEMI_SPACE_MB says otherwise (0: isolated-vm's sizing), and names a wrong value", () => {
    assert.equal(loadConfig({}).plugins.semiSpaceMb, 8)
    assert.equal(loadConfig({ PLUGIN_SEMI_SPACE_MB: '0' }).plugins.semiSpaceMb, 0)
    assert.throws(() => loadConfig({ PLUGIN_SEMI_SPACE_MB: '65' }), /PLUGIN_SEMI_SPACE_MB: expected an integer between 0 and 64, got "65"/)
  })

  it('refuses more live plugin instances per process than V8 can hold, saying why and what to do', () => {
    assert.equal(loadConfig({ PLUGIN_MAX_LIVE_INSTANCES: '3500' }).plugins.maxLiveInstances, 3500)
    assert.throws(
      () => loadConfig({ PLUGIN_MAX_LIVE_INSTANCES: '5000' }),
      (err: Error) =>
        err instanceof ConfigError &&
        /PLUGIN_MAX_LIVE_INSTANCES: expected an integer between 1 and 3500, got "5000" \(V8 aborts a process holding about 4 050 isolates; .*SCHEDULER_SHARDS/.test(
          err.message,
        ),
    )
  })

  it("defaults the live plugin instances to what fits in the container's memory limit, and keeps an explicit PLUGIN_MAX_LIVE_INSTANCES", () => {
    const GiB = 1024 ** 3
    const withLimit = pluginsWithMemoryLimit
    // (half the limit - 128 MB of the process's own) / 3.5 MB per live config that has run a while.
    assert.equal(withLimit(GiB).maxLiveInstances, 109)
    assert.equal(withLimit(0.75 * GiB).maxLiveInstances, 73)
    assert.equal(withLimit(4 * GiB).maxLiveInstances, 548)
    assert.equal(withLimit(64 * GiB).maxLiveInstances, 2000, 'never above the default without a limit')
    assert.equal(withLimit(128 * 1024 ** 2).maxLiveInstances, 10, 'a few even in a tiny container')
    assert.equal(withLimit(2 ** 64).maxLiveInstances, 2000, 'no cgroup limit')
    assert.equal(withLimit(GiB, { PLUGIN_MAX_LIVE_INSTANCES: '3000' }).maxLiveInstances, 3000)
  })

  it("defaults PLUGIN_RSS_LIMIT_MB to 80 % of the container's memory limit, none without one, and keeps an explicit value", () => {
    const withLimit = (bytes: number, env: Record<string, string> = {}) => pluginsWithMemoryLimit(bytes, env).rssLimitMb
    assert.equal(withLimit(1024 ** 3), 819)
    assert.equal(withLimit(16 * 1024 ** 3), 13_107)
    assert.equal(withLimit(2 ** 64), 0, 'no cgroup limit: off')
    assert.equal(withLimit(1024 ** 3, { PLUGIN_RSS_LIMIT_MB: '0' }), 0, '0 turns it off')
    assert.equal(withLimit(1024 ** 3, { PLUGIN_RSS_LIMIT_MB: '700' }), 700)
  })

  it("defaults PLUGIN_MAX_SOCKETS to half the process's open-file limit (at most 4 096) and PLUGIN_HELD_MAX_MB to a quarter of its memory limit (1 GiB without one); a team gets 256 sockets and 200 MB", () => {
    const maxSocketsUnder = (files: number): number => {
      const script = `console.log(require(${JSON.stringify(path.join(REPO_ROOT, 'libs/core'))}).loadConfig({}).plugins.maxSockets)`
      return Number(execFileSync('bash', ['-c', `ulimit -n ${files} && exec "$0" -e "$1"`, process.execPath, script], { encoding: 'utf8' }).trim())
    }
    assert.equal(maxSocketsUnder(1024), 512)
    // As many files as this machine's hard limit lets a process ask for, up to 10 000.
    const hard = /^Max open files\s+\d+\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))![1]
    const most = hard === 'unlimited' ? 10_000 : Math.min(10_000, Number(hard))
    assert.equal(maxSocketsUnder(most), Math.min(4096, Math.floor(most / 2)), 'at most 4 096')
    assert.equal(loadConfig({ PLUGIN_MAX_SOCKETS: '100' }).plugins.maxSockets, 100)
    assert.equal(pluginsWithMemoryLimit(1024 ** 3).heldMaxMb, 256)
    assert.equal(pluginsWithMemoryLimit(2 ** 64).heldMaxMb, 1024, 'no cgroup limit')
    const { teamMaxSockets, teamHeldMaxMb } = loadConfig({}).plugins
    assert.deepEqual([teamMaxSockets, teamHeldMaxMb], [256, 200])
    assert.throws(() => loadConfig({ PLUGIN_TEAM_MAX_SOCKETS: '0' }), /PLUGIN_TEAM_MAX_SOCKETS: expected an integer between 1 and 1000000, got "0"/)
  })

  it('holds export deliveries waiting to a config, a team (two configs by default) and all teams', () => {
    const { maxPendingEvents, maxTeamPendingEvents, maxFleetPendingEvents } = loadConfig({}).export
    assert.deepEqual([maxPendingEvents, maxTeamPendingEvents, maxFleetPendingEvents], [200_000, 400_000, 2_000_000])
    assert.equal(loadConfig({ EXPORT_MAX_PENDING_EVENTS: '500000' }).export.maxTeamPendingEvents, 1_000_000, "the team's follows the config's unless set")
    assert.equal(loadConfig({ EXPORT_MAX_PENDING_EVENTS: '500000', EXPORT_TEAM_MAX_PENDING_EVENTS: '700000' }).export.maxTeamPendingEvents, 700_000)
    assert.equal(loadConfig({ EXPORT_FLEET_MAX_PENDING_EVENTS: '0' }).export.maxFleetPendingEvents, 0, '0 turns the fleet limit off')
  })

  it('lets a config ask for an exportEvents buffer up to EXPORT_BUFFER_CONFIG_MAX_BYTES, never below EXPORT_BUFFER_MAX_BYTES', () => {
    assert.equal(loadConfig({}).export.bufferConfigMaxBytes, 10 * 1024 * 1024)
    assert.equal(loadConfig({ EXPORT_BUFFER_MAX_BYTES: '20000000' }).export.bufferConfigMaxBytes, 20_000_000, 'follows a larger default unless set')
    assert.throws(
      () => loadConfig({ EXPORT_BUFFER_MAX_BYTES: '2000000', EXPORT_BUFFER_CONFIG_MAX_BYTES: '1000000' }),
      /EXPORT_BUFFER_CONFIG_MAX_BYTES: must be at least EXPORT_BUFFER_MAX_BYTES \(2000000\)/,
    )
  })

  it("gives a team half an exporter's delivery slots unless EXPORT_TEAM_CONCURRENCY says otherwise", () => {
    assert.equal(loadConfig({}).export.teamConcurrency, 8)
    assert.equal(loadConfig({ EXPORT_CONCURRENCY: '5' }).export.teamConcurrency, 3)
    assert.equal(loadConfig({ EXPORT_CONCURRENCY: '1' }).export.teamConcurrency, 1)
    assert.equal(loadConfig({ EXPORT_TEAM_CONCURRENCY: '16' }).export.teamConcurrency, 16)
  })

  it("gives a team half a job-worker's slots unless JOB_WORKER_TEAM_CONCURRENCY says otherwise", () => {
    assert.equal(loadConfig({}).jobWorker.teamConcurrency, 5)
    assert.equal(loadConfig({ JOB_WORKER_CONCURRENCY: '3' }).jobWorker.teamConcurrency, 2)
    assert.equal(loadConfig({ JOB_WORKER_TEAM_CONCURRENCY: '10' }).jobWorker.teamConcurrency, 10)
  })

  it("gives a team half a scheduler's slots unless SCHEDULER_TEAM_CONCURRENCY says otherwise", () => {
    assert.equal(loadConfig({}).scheduler.teamConcurrency, 25)
    assert.equal(loadConfig({ SCHEDULER_CONCURRENCY: '3' }).scheduler.teamConcurrency, 2)
    assert.equal(loadConfig({ SCHEDULER_TEAM_CONCURRENCY: '50' }).scheduler.teamConcurrency, 50)
    assert.throws(() => loadConfig({ SCHEDULER_TEAM_CONCURRENCY: '0' }), /SCHEDULER_TEAM_CONCURRENCY/)
  })

  it('lets as many stuck jobs stop counting as a role has slots unless its *_STUCK_EXTRA_SLOTS says otherwise (0: none), and names the variable it rejects', () => {
    const defaults = loadConfig({})
    assert.equal(defaults.ingest.stuckExtraSlots, 4)
    assert.equal(defaults.export.stuckExtraSlots, 16)
    assert.equal(defaults.jobWorker.stuckExtraSlots, 10)
    assert.equal(defaults.scheduler.stuckExtraSlots, 50)
    assert.equal(defaults.scheduler.stuckAfterMs, 5000)
    assert.equal(defaults.export.stuckAfterMs, 5000)
    assert.equal(defaults.jobWorker.stuckAfterMs, 5000)
    assert.equal(loadConfig({ INGEST_CONCURRENCY: '8' }).ingest.stuckExtraSlots, 8)
    assert.equal(loadConfig({ INGEST_STUCK_EXTRA_SLOTS: '0' }).ingest.stuckExtraSlots, 0)
    assert.equal(loadConfig({ EXPORT_STUCK_AFTER_MS: '2000', EXPORT_STUCK_EXTRA_SLOTS: '2' }).export.stuckAfterMs, 2000)
    assert.throws(() => loadConfig({ INGEST_STUCK_EXTRA_SLOTS: '-1' }), /INGEST_STUCK_EXTRA_SLOTS/)
    assert.throws(() => loadConfig({ EXPORT_STUCK_EXTRA_SLOTS: '1001' }), /EXPORT_STUCK_EXTRA_SLOTS/)
    assert.throws(() => loadConfig({ EXPORT_STUCK_AFTER_MS: '10' }), /EXPORT_STUCK_AFTER_MS/)
    assert.throws(() => loadConfig({ JOB_WORKER_STUCK_AFTER_MS: 'soon' }), /JOB_WORKER_STUCK_AFTER_MS/)
    assert.throws(() => loadConfig({ JOB_WORKER_STUCK_EXTRA_SLOTS: 'x' }), /JOB_WORKER_STUCK_EXTRA_SLOTS/)
    assert.throws(() => loadConfig({ SCHEDULER_STUCK_AFTER_MS: '0' }), /SCHEDULER_STUCK_AFTER_MS/)
    assert.throws(() => loadConfig({ SCHEDULER_STUCK_EXTRA_SLOTS: '2000' }), /SCHEDULER_STUCK_EXTRA_SLOTS/)
  })

  it('never shows a secret in its errors: the admin token not at all, a URL without its credentials', () => {
    const problemsOf = (env: Record<string, string>): string => {
      try {
        loadConfig(env)
      } catch (err) {
        assert.ok(err instanceof ConfigError)
        return err.message
      }
      assert.fail('expected a ConfigError')
    }
    const token = problemsOf({ ADMIN_API_TOKEN: 'hunter2-secret' })
    assert.match(token, /ADMIN_API_TOKEN: expected at least 16 characters, the value is not shown \(a secret\)/)
    assert.ok(!token.includes('hunter2'), token)
    const database = problemsOf({ DATABASE_URL: 'postgresql+psycopg://ps:S3cr3t-DB-pw@pg.internal:5432/ps?password=x' })
    assert.match(
      database,
      /DATABASE_URL: expected a postgres: or postgresql: URL, got "postgresql\+psycopg:\/\/pg.internal:5432" \(credentials and path not shown\)/,
    )
    assert.ok(!database.includes('S3cr3t') && !database.includes('ps:'), database)
    // Not a URL at all: nothing of it can be told apart from a password.
    const redis = problemsOf({ REDIS_URL: 'my secret pw@redis.internal:6379' })
    assert.match(redis, /REDIS_URL: expected a URL such as redis:\/\/host:port, the value is not shown \(it may hold a password\)/)
    assert.ok(!redis.includes('secret'), redis)
    const api = problemsOf({ POSTHOG_API_HOST: 'ftp://user:apipw@posthog.internal' })
    assert.ok(!api.includes('apipw'), api)
  })

  it("refuses every millisecond variable above what Node's timers can wait (2^31 - 1 ms), naming it", () => {
    const source = readFileSync(path.join(REPO_ROOT, 'libs/core/src/config.ts'), 'utf8')
    const names = [...new Set([...source.matchAll(/'([A-Z0-9_]+_MS)'/g)].map((m) => m[1]))]
    assert.ok(names.length >= 17, names.join(' '))
    for (const name of names) {
      assert.throws(
        () => loadConfig({ [name]: String(2 ** 31) }),
        (err: Error) => err instanceof ConfigError && new RegExp(`${name}: expected an integer between \\d+ and \\d+, got "2147483648"`).test(err.message),
        name,
      )
    }
    for (const name of [
      'CAPTURE_ENQUEUE_TIMEOUT_MS',
      'SHUTDOWN_GRACE_MS',
      'PLUGIN_RECONCILE_INTERVAL_MS',
      'INGEST_LOCK_DURATION_MS',
      'EXPORT_LOCK_DURATION_MS',
    ]) {
      assert.doesNotThrow(() => loadConfig({ [name]: String(2 ** 31 - 1) }), name)
    }
    assert.throws(
      () => loadConfig({ PLUGIN_SETUP_RETRY_WINDOW_MS: '9999999999' }),
      /PLUGIN_SETUP_RETRY_WINDOW_MS: expected an integer between 1000 and 2147483647, got "9999999999" \(Node's timers fire at once for longer delays\)/,
    )
  })

  it('gives a capture client 30 s to send a request unless CAPTURE_BODY_TIMEOUT_MS says otherwise, and names a wrong value', () => {
    assert.equal(loadConfig({}).capture.bodyTimeoutMs, 30_000)
    assert.equal(loadConfig({ CAPTURE_BODY_TIMEOUT_MS: '5000' }).capture.bodyTimeoutMs, 5000)
    assert.throws(() => loadConfig({ CAPTURE_BODY_TIMEOUT_MS: '10' }), /CAPTURE_BODY_TIMEOUT_MS: expected an integer between 1000 and 600000, got "10"/)
  })

  it('names every wrong variable and what it expected', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'http://x', INGEST_CONCURRENCY: 'many', LOG_LEVEL: 'loud', QUEUE_PREFIX: 'ps', CAPTURE_TRUST_PROXY: 'maybe' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.equal(err.problems.length, 5)
        assert.match(err.message, /REDIS_URL: expected a redis: or rediss: URL, got "http:\/\/x" \(credentials and path not shown\)/)
        assert.match(err.message, /INGEST_CONCURRENCY: expected an integer between 1 and 1000, got "many"/)
        assert.match(err.message, /LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"/)
        assert.match(err.message, /QUEUE_PREFIX: expected a prefix with a Redis Cluster hash tag/)
        assert.match(err.message, /CAPTURE_TRUST_PROXY: expected true or false, got "maybe"/)
        return true
      },
    )
  })

  it("asks plugins' names of the system's DNS servers unless PLUGIN_DNS_SERVERS names some (IP, IP:port, [IPv6]:port), and names a wrong entry", () => {
    assert.deepEqual(loadConfig({}).plugins.dnsServers, [])
    assert.deepEqual(loadConfig({ PLUGIN_DNS_SERVERS: '10.0.0.10, 10.0.0.11:5353 ::1 [2001:db8::1]:53' }).plugins.dnsServers, [
      '10.0.0.10',
      '10.0.0.11:5353',
      '::1',
      '[2001:db8::1]:53',
    ])
    assert.throws(
      () => loadConfig({ PLUGIN_DNS_SERVERS: 'dns.example,10.0.0.1:99999' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.match(err.message, /PLUGIN_DNS_SERVERS: expected an IP address, IP:port or \[IPv6\]:port, got "dns\.example"/)
        assert.match(err.message, /PLUGIN_DNS_SERVERS: expected a port from 1 to 65535, got "10\.0\.0\.1:99999"/)
        return true
      },
    )
  })

  it('refuses a capture shutdown delay that leaves the grace period no time to drain', () => {
    assert.throws(
      () => loadConfig({ CAPTURE_SHUTDOWN_DELAY_MS: '30000', SHUTDOWN_GRACE_MS: '30000' }),
      /CAPTURE_SHUTDOWN_DELAY_MS: must be shorter than SHUTDOWN_GRACE_MS \(30000\), which also has to drain the requests in flight, got 30000/,
    )
    assert.equal(loadConfig({ CAPTURE_SHUTDOWN_DELAY_MS: '0', SHUTDOWN_GRACE_MS: '0' }).capture.shutdownDelayMs, 0)
  })
})
