import { readFileSync } from 'node:fs'
import { IsolatedVmPluginVm, LocalHost, PluginEvent, sourceFromFiles } from '@plugin-server/plugin-vm'

const ISOLATED_VM_VERSION = (JSON.parse(readFileSync(require.resolve('isolated-vm/package.json'), 'utf8')) as { version: string }).version

/**
 * µs per event per plugin for a trivial processEvent (adds a property), batched through the
 * isolate vs the same function called in-process, plus the cost of creating an isolate and loading.
 */
const PLUGIN = `export function processEvent(event) { event.properties = { ...event.properties, bench: true }; return event }`

function inProcess(event: PluginEvent): PluginEvent {
  event.properties = { ...event.properties, bench: true }
  return event
}

function makeEvents(n: number): PluginEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    event: '$pageview',
    distinct_id: `user-${i % 50}`,
    uuid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    team_id: 1,
    timestamp: new Date(1_700_000_000_000 + i).toISOString(),
    properties: { $current_url: `https://example.com/page/${i}`, $browser: 'Firefox', $os: 'Linux', $lib: 'web', n: i, tags: ['a', 'b'] },
  }))
}

async function timeUs(iterations: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) await fn()
  return Number(process.hrtime.bigint() - start) / 1000 / iterations
}

export async function benchPluginVm(): Promise<void> {
  const source = await sourceFromFiles(
    new Map([
      ['plugin.json', Buffer.from('{"name":"bench"}')],
      ['index.ts', Buffer.from(PLUGIN)],
    ]),
  )
  const vm = new IsolatedVmPluginVm()
  const rows: [string, string, string, string][] = []

  // Warm the runtime bundle and code cache, then measure create+load on a warm process.
  ;(await vm.load(source, new LocalHost(), { configId: 0 })).dispose()
  const loads = 50
  const loadUs = await timeUs(loads, async () => (await vm.load(source, new LocalHost(), { configId: 1 })).dispose())

  const instance = await vm.load(source, new LocalHost(), { configId: 2 })
  try {
    for (const size of [100, 1000]) {
      const events = makeEvents(size)
      const iterations = Math.max(50, Math.round(100_000 / size))
      for (let i = 0; i < 10; i++) await instance.processEventBatch(events)
      const vmUs = (await timeUs(iterations, () => instance.processEventBatch(events))) / size
      const copies = events.map((e) => JSON.parse(JSON.stringify(e)) as PluginEvent)
      const baseUs = (await timeUs(iterations * 10, () => copies.forEach(inProcess))) / (size * 10)
      const baseline = Math.max(baseUs, 0.001)
      rows.push([`processEvent batch of ${size}`, `${vmUs.toFixed(2)} µs/event`, `${baseUs.toFixed(3)} µs/event`, `${(vmUs / baseline).toFixed(0)}x`])
      const target = vmUs <= 10 ? 'meets ≤ 10 µs target' : 'MISSES ≤ 10 µs target'
      rows.push(['', target, '', ''])
    }
    const single = await timeUs(2000, () => instance.call('processEvent', [makeEvents(1)[0]]))
    rows.push(['processEvent one call per event', `${single.toFixed(1)} µs/event`, '', ''])
  } finally {
    instance.dispose()
  }
  rows.push(['create isolate + load plugin', `${(loadUs / 1000).toFixed(2)} ms`, '', ''])

  const widths = [34, 24, 18, 8]
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ')
  console.log(`\nplugin-vm (isolated-vm ${ISOLATED_VM_VERSION}, Node ${process.versions.node})`)
  console.log(line(['measurement', 'isolate', 'in-process', 'ratio']))
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'))
  for (const row of rows) console.log(line(row))
}

if (require.main === module) {
  benchPluginVm().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
