import type { IngestEvent } from '@plugin-server/core'
import { createPluginChainMetrics, processEventStep } from '@plugin-server/ingestion'
import type { ActiveConfig, PluginConfigRecord, PluginLogWriter } from '@plugin-server/plugin-runtime'
import { IsolatedVmPluginVm, LocalHost, PluginInstance, PluginJson, sourceFromFiles } from '@plugin-server/plugin-vm'
import { Pool } from 'pg'
import { Registry } from 'prom-client'
import { IsolateFloor } from './isolate-floor'
import { printTable } from './table'

/**
 * `npm run bench -- stage`: the ingest worker's processEvent step (processEventStep, real isolates,
 * the plugin VM the workers run) over PostHog-shaped $pageview events in capture-sized batches at the
 * ingest worker's default concurrency, against the copy floor measured in the same run: the same
 * plugin functions called in this process with a JSON copy of the event in and out per plugin.
 * CPU is the process's (isolate threads included). No Redis or Postgres: the step's only store
 * calls are failure reports, and these plugins do not fail (every output is checked). Beside them,
 * the bare isolate round trip (isolate-floor.ts): what any isolate stage passing JSON must do at least.
 */
const BATCH = 200 // CAPTURE_BATCH_MAX_EVENTS
const CONCURRENCY = 4 // INGEST_CONCURRENCY
/** The measured events run in this many slices, floor, stage and bare round trip in turn. */
const SLICES = 10

const pluginSource = (i: number) => `export function processEvent(event) { event.properties.added_by_${i} = true; return event }`

function floorPlugin(i: number): (event: Record<string, unknown>) => Record<string, unknown> {
  const key = `added_by_${i}`
  return (event) => {
    ;(event.properties as Record<string, unknown>)[key] = true
    return event
  }
}

/** What posthog-js sends for a page view (about 2 KB as JSON). */
export function pageview(i: number, teamId: number): IngestEvent {
  const now = new Date(1_767_225_600_000 + i).toISOString()
  return {
    uuid: `0190c1a4-0000-7000-8000-${String(i).padStart(12, '0')}`,
    team_id: teamId,
    event: '$pageview',
    distinct_id: `0190c1a4-distinct-${i % 500}`,
    timestamp: now,
    now,
    sent_at: now,
    ip: '203.0.113.7',
    site_url: 'https://app.example.com',
    properties: {
      $os: 'Mac OS X',
      $os_version: '14.5.0',
      $browser: 'Chrome',
      $device_type: 'Desktop',
      $current_url: `https://app.example.com/projects/${i % 97}/insights?tab=trends&interval=day`,
      $host: 'app.example.com',
      $pathname: `/projects/${i % 97}/insights`,
      $raw_user_agent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
      $browser_version: 126,
      $browser_language: 'en-US',
      $screen_height: 1117,
      $screen_width: 1728,
      $viewport_height: 959,
      $viewport_width: 1728,
      $lib: 'web',
      $lib_version: '1.149.0',
      $insert_id: `x${i.toString(36)}k3j2h1`,
      $time: 1_767_225_600 + i / 1000,
      distinct_id: `0190c1a4-distinct-${i % 500}`,
      $device_id: `0190c1a4-device-${i % 500}`,
      $user_id: `user-${i % 500}`,
      $initial_referrer: '$direct',
      $initial_referring_domain: '$direct',
      $referrer: 'https://app.example.com/home',
      $referring_domain: 'app.example.com',
      $session_id: `0190c1a4-session-${i % 50}`,
      $window_id: `0190c1a4-window-${i % 80}`,
      $pageview_id: `0190c1a4-pageview-${i}`,
      $is_identified: true,
      $process_person_profile: true,
      $active_feature_flags: ['new-onboarding', 'insights-v2'],
      '$feature/new-onboarding': true,
      '$feature/insights-v2': 'test',
      $set: { $os: 'Mac OS X', $browser: 'Chrome', $current_url: `https://app.example.com/projects/${i % 97}/insights` },
      $set_once: { $initial_os: 'Mac OS X', $initial_browser: 'Chrome', $initial_referrer: '$direct' },
      token: 'phc_benchmarkprojecttoken0000000000000000000',
      $sent_at: now,
    },
  } as IngestEvent
}

function record(i: number, pluginJson: PluginJson): PluginConfigRecord {
  return {
    id: i + 1,
    teamId: 1,
    teamApiToken: 'phc_bench',
    pluginId: i + 1,
    pluginName: `adds property ${i}`,
    pluginVersion: 1,
    pinnedVersion: null,
    contentHash: `bench-${i}`,
    order: i,
    config: {},
    sealedKeys: [],
    hasAttachments: false,
    attachmentSecrets: [],
    pluginJson,
    signature: `bench-${i}`,
  } as PluginConfigRecord
}

async function loadConfigs(vm: IsolatedVmPluginVm, count: number): Promise<{ configs: ActiveConfig[]; instances: PluginInstance[] }> {
  const instances: PluginInstance[] = []
  const configs: ActiveConfig[] = []
  for (let i = 0; i < count; i++) {
    const json = { name: `adds property ${i}` }
    const source = await sourceFromFiles(
      new Map([
        ['plugin.json', Buffer.from(JSON.stringify(json))],
        ['index.js', Buffer.from(pluginSource(i))],
      ]),
    )
    const instance = await vm.load(source, new LocalHost(), { configId: i + 1 })
    instances.push(instance)
    configs.push({ record: record(i, json as PluginJson), methods: ['processEvent'], jobNames: [], use: (fn) => fn(instance) })
  }
  return { configs, instances }
}

function cpuUs(): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

interface Run {
  eventsPerSecond: number
  cpuUsPerEvent: number
}

async function measure(total: number, lane: (batch: number) => Promise<void>): Promise<Run> {
  const batches = Math.ceil(total / BATCH)
  let next = 0
  const wall = process.hrtime.bigint()
  const cpu = cpuUs()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batches) await lane(next++)
    }),
  )
  const cpuUsed = cpuUs() - cpu
  const seconds = Number(process.hrtime.bigint() - wall) / 1e9
  return { eventsPerSecond: (batches * BATCH) / seconds, cpuUsPerEvent: cpuUsed / (batches * BATCH) }
}

/** Slices of equal size: CPU per event is their mean, throughput their events over their summed time. */
function combined(slices: Run[]): Run {
  const cpuUsPerEvent = slices.reduce((sum, r) => sum + r.cpuUsPerEvent, 0) / slices.length
  const eventsPerSecond = slices.length / slices.reduce((sum, r) => sum + 1 / r.eventsPerSecond, 0)
  return { eventsPerSecond, cpuUsPerEvent }
}

async function stageRun(configs: ActiveConfig[], batches: IngestEvent[][], total: number): Promise<Run> {
  const logs = { write: () => undefined } as unknown as PluginLogWriter
  const step = processEventStep({ teamConfigs: async () => configs }, { pool: new Pool({ max: 1 }), logs, metrics: createPluginChainMetrics(new Registry()) })
  let checked = 0
  const run = await measure(total, async (b) => {
    const out = await step.run(batches[b % batches.length])
    if (checked++ < batches.length) checkOutputs(out, configs.length)
  })
  return run
}

function checkOutputs(events: IngestEvent[], plugins: number): void {
  if (events.length !== BATCH) throw new Error(`the stage returned ${events.length} events of a batch of ${BATCH}`)
  for (const event of events) {
    for (let i = 0; i < plugins; i++) {
      if (event.properties[`added_by_${i}`] !== true) throw new Error(`event ${event.uuid} lacks the property of plugin ${i}`)
    }
  }
}

async function floorRun(plugins: number, batches: IngestEvent[][], total: number): Promise<Run> {
  const fns = Array.from({ length: plugins }, (_, i) => floorPlugin(i))
  return measure(total, async (b) => {
    const out: unknown[] = []
    for (const event of batches[b % batches.length]) {
      let current = event as unknown as Record<string, unknown>
      for (const fn of fns) current = JSON.parse(JSON.stringify(fn(JSON.parse(JSON.stringify(current)) as Record<string, unknown>))) as Record<string, unknown>
      out.push(current)
    }
    checkOutputs(out as IngestEvent[], plugins)
    // A macrotask turn per batch, as the worker's lanes have.
    await new Promise<void>((resolve) => setImmediate(resolve))
  })
}

async function isolateFloorRun(floor: IsolateFloor, plugins: number, batches: IngestEvent[][], total: number): Promise<Run> {
  return measure(total, async (b) => checkOutputs((await floor.run(batches[b % batches.length])) as IngestEvent[], plugins))
}

export async function benchStage(): Promise<void> {
  const total = Number(process.env.BENCH_EVENTS ?? 100_000)
  const batches = Array.from({ length: 50 }, (_, b) => Array.from({ length: BATCH }, (_, i) => pageview(b * BATCH + i, 1)))
  const vm = new IsolatedVmPluginVm()
  const rows: string[][] = []
  for (const plugins of [1, 3]) {
    const { configs, instances } = await loadConfigs(vm, plugins)
    const isolateFloor = new IsolateFloor(plugins, pluginSource)
    try {
      // Warm both sides (JIT, code caches) on a tenth of the events before measuring.
      await floorRun(plugins, batches, total / 10)
      await stageRun(configs, batches, total / 10)
      await isolateFloorRun(isolateFloor, plugins, batches, total / 10)
      // In alternating slices, so a change in the machine's load falls on all three alike.
      const runs: Record<'floor' | 'stage' | 'bare', Run[]> = { floor: [], stage: [], bare: [] }
      for (let slice = 0; slice < SLICES; slice++) {
        runs.floor.push(await floorRun(plugins, batches, total / SLICES))
        runs.stage.push(await stageRun(configs, batches, total / SLICES))
        runs.bare.push(await isolateFloorRun(isolateFloor, plugins, batches, total / SLICES))
      }
      const [floor, stage, bare] = [combined(runs.floor), combined(runs.stage), combined(runs.bare)]
      // What the speed costs in memory: a busy isolate's young generation grows to its semi-spaces (PLUGIN_SEMI_SPACE_MB).
      const committedMb = Math.max(...instances.map((i) => i.stats().heapCommittedBytes)) / (1024 * 1024)
      rows.push([
        `${plugins} plugin${plugins > 1 ? 's' : ''}`,
        `${Math.round(stage.eventsPerSecond)}`,
        `${stage.cpuUsPerEvent.toFixed(1)}`,
        `${floor.cpuUsPerEvent.toFixed(1)}`,
        `${(stage.cpuUsPerEvent / floor.cpuUsPerEvent).toFixed(2)}x`,
        `${bare.cpuUsPerEvent.toFixed(1)}`,
        `${(bare.cpuUsPerEvent / floor.cpuUsPerEvent).toFixed(2)}x`,
        stage.cpuUsPerEvent <= floor.cpuUsPerEvent ? 'meets ≤ 1.0x' : 'MISSES ≤ 1.0x',
        committedMb.toFixed(1),
      ])
    } finally {
      for (const instance of instances) instance.dispose()
      isolateFloor.dispose()
    }
  }
  process.stdout.write(`processEvent stage: ${total} events, batches of ${BATCH}, ${CONCURRENCY} at a time\n`)
  printTable(
    [
      'plugins',
      'stage events/s',
      'stage CPU µs/event',
      'copy floor CPU µs/event',
      'stage / floor',
      'bare isolate CPU µs/event',
      'bare / floor',
      'target',
      'heap committed per plugin isolate, MB (largest)',
    ],
    rows,
  )
}
