import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createTeam, Team } from '@plugin-server/db'
import { listDeadLetters } from '@plugin-server/export'
import { redisOwnAddress } from '@plugin-server/plugin-runtime'
import { BlackHoleRelay } from '../harness/black-hole-relay'
import { eventually } from '../harness/fleet'
import { enablePlugin, writePlugin } from '../harness/plugins'
import { DEADLINES, healthyEvents, HostileFleet, MIXING } from './hostile-fleet-fixture'

/**
 * The fleet's Redis holds every team's queued events, caches and job payloads, and commonly has no
 * password. Redis runs each line it reads as an inline command, and an HTTP request's first line is
 * `<method> <path> HTTP/1.1`: a fetch with the method `SET` stores a key before Redis sees the `Host:`
 * header and hangs up. pg's connection is the same socket guard's other way out (a raw TCP socket).
 */
/** Where the plugin tries: `hosts` at `port` by fetch, `named` by pg, posthog.api and a webhook, and each of `more`. */
interface Targets {
  hosts: string[]
  port: number
  named: string
  more: Record<string, string>
}

const SMUGGLER = (targets: Targets, key: string, database: URL) => `
const targets = ${JSON.stringify(targets)}
const { Client } = require('pg')

async function connect(options) {
  const client = new Client({ connectionTimeoutMillis: 4000, ...options })
  client.on('error', () => undefined)
  try {
    await client.connect()
    const { rows } = await client.query('SELECT 1 AS one')
    await client.end()
    return 'connected: ' + rows[0].one
  } catch (error) {
    return String(error && error.message)
  }
}

const url = (host, port) => 'http://' + (host.includes(':') ? '[' + host + ']' : host) + ':' + port

async function smuggle(host, i) {
  try {
    const res = await fetch(url(host, targets.port) + '/${key}-' + i, { method: 'SET' })
    return 'answered ' + res.status
  } catch (error) {
    return String(error && error.message)
  }
}

// The exporter sends this on the plugin's behalf, by name this time.
export function composeWebhook(event) {
  return event.event === 'smuggle' ? { url: url(targets.named, targets.port) + '/${key}-webhook', method: 'SET', body: '' } : null
}

export async function processEvent(event) {
  if (event.event !== 'smuggle') return event
  const attempts = {}
  for (const [i, host] of targets.hosts.entries()) {
    attempts[host] = await smuggle(host, i)
    console.log('redis via ' + host + ': ' + attempts[host])
  }
  for (const [name, target] of Object.entries(targets.more)) {
    attempts[name] = await fetch('http://' + target + '/${key}-' + name, { method: 'SET' }).then((res) => 'answered ' + res.status, (error) => String(error && error.message))
  }
  // posthog.api to a host of the plugin's own goes out through the fetch policy, from the host.
  attempts['posthog.api'] = await posthog.api.get('/api/projects', { host: url(targets.named, targets.port), personalApiKey: 'k' }).then((res) => 'answered ' + res.status, (error) => String(error && error.message))
  attempts.pg = await connect({ host: targets.named, port: targets.port, database: 'x', user: 'x' })
  // The worker's own /metrics, which lists every team's configs: its port comes with the event.
  attempts.metrics = await fetch('http://localhost:' + event.properties.metricsPort + '/metrics').then((res) => 'answered ' + res.status, (error) => String(error && error.message))
  // The fleet's Postgres on the same loopback, with its own credentials: every other port stays open.
  attempts.postgres = await connect({ host: ${JSON.stringify(database.hostname)}, port: ${Number(database.port)}, user: ${JSON.stringify(decodeURIComponent(database.username))}, password: ${JSON.stringify(decodeURIComponent(database.password))}, database: ${JSON.stringify(database.pathname.slice(1))} })
  event.properties.attempts = attempts
  return event
}
`

const SETUPS = [
  { title: 'REDIS_URL naming the Redis itself', relayed: false },
  {
    title:
      "REDIS_URL naming a relay in front of it (a proxy, a Kubernetes Service's cluster IP): the address the Redis gives itself (CLIENT INFO's laddr) is closed too",
    relayed: true,
  },
]

for (const { title, relayed } of SETUPS) {
  describe(`security: the fleet's own Redis, in a running fleet whose allowlist opens every address; ${title}`, function () {
    this.timeout(120_000)
    let hf: HostileFleet
    let relay: BlackHoleRelay | undefined
    let smuggler: { team: Team; configId: number }
    let targets: Targets
    const key = `smuggled-${randomBytes(4).toString('hex')}`

    before(async () => {
      relay = relayed ? new BlackHoleRelay(process.env.REDIS_URL!) : undefined
      const redisUrl = relay ? await relay.listen() : process.env.REDIS_URL!
      // 0.0.0.0/0,::/0 turns the address check off: the fleet's Redis must be refused all the same.
      hf = await HostileFleet.create({ ...MIXING, ...DEADLINES, PLUGIN_FETCH_ALLOWED_HOSTS: '0.0.0.0/0,::/0', REDIS_URL: redisUrl })
      // The Redis itself, where it says it is (behind the relay, only that names it), and every local spelling of it.
      const [own] = redisOwnAddress(await hf.redisClient.client('INFO'))
      const at = own.lastIndexOf(':')
      const ownHost = own.slice(0, at).replace(/^\[|\]$/g, '')
      const local = /^127\.|^::1$/.test(ownHost)
      targets = {
        hosts: local ? ['127.0.0.1', 'localhost', '::ffff:127.0.0.1', '::1', '0.0.0.0', '127.0.0.2'] : [ownHost],
        port: Number(own.slice(at + 1)),
        named: local ? 'localhost' : ownHost,
        // REDIS_URL itself, the relay's address when there is one.
        more: relay ? { relay: new URL(redisUrl).host } : {},
      }
      const plugin = writePlugin('redis smuggler', SMUGGLER(targets, key, new URL(process.env.DATABASE_URL!)))
      const team = await createTeam(hf.pool, 'redis smuggler')
      smuggler = { team, configId: (await enablePlugin(hf.managementContext(), team.id, plugin, {}, { order: 1 })).id }
      await hf.start(['capture', 'ingest-worker', 'exporter'])
    })
    after(async () => {
      const smuggled = await hf?.redisClient.keys(`/${key}-*`)
      if (smuggled?.length) await hf.redisClient.del(...smuggled)
      await hf?.close()
      await relay?.close()
    })
    it("refuses a plugin's connections to the Redis at every spelling of its address (every local one when it runs here), naming REDIS_URL, and its webhook and posthog.api requests by name, and the worker's own metrics port, while its Postgres connection and another team's events go through", async () => {
      const since = Date.now()
      const [smuggled, neighbours] = await Promise.all([
        hf.send(smuggler.team, [{ event: 'smuggle', properties: { metricsPort: await hf.worker().healthPort(5000) } }]),
        hf.send(hf.healthyTeam, healthyEvents(20)),
      ])
      await hf.waitStored(hf.healthyTeam.id, neighbours, since)
      await hf.waitStored(smuggler.team.id, smuggled, since, 30_000)
      const [row] = await hf.rows(smuggler.team.id)
      const attempts = row.properties.attempts as Record<string, string>
      for (const host of [...targets.hosts, ...Object.keys(targets.more), 'posthog.api', 'pg']) {
        assert.match(attempts[host], /the fleet's own Redis \(REDIS_URL\), which no plugin may reach/, `the connection to ${host} is refused, naming REDIS_URL`)
        assert.doesNotMatch(attempts[host], /operators can allow/, 'no allowlist entry opens it, so none is suggested')
      }
      assert.match(attempts.metrics, /port \d+ is this process's health and metrics port \(METRICS_PORT\), which no plugin may reach/)
      assert.equal(attempts.postgres, 'connected: 1', 'the same plugin reaches another service on loopback')
      await hf.waitForLog(smuggler.configId, /redis via .*: .*REDIS_URL/)
      const [letter] = await eventually(
        'the webhook kept as a dead letter',
        () => listDeadLetters(hf.pool, smuggler.configId),
        (l) => l.length === 1,
      )
      assert.match(letter.error, /webhook to .+:\d+ refused: .*the fleet's own Redis \(REDIS_URL\)/)
      assert.deepEqual(await hf.redisClient.keys(`/${key}-*`), [], 'no command reached Redis')
      await hf.assertAllAlive()
    })
  })
}
