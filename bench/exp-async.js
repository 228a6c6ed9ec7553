const { IsolatedVmPluginVm, LocalHost, sourceFromFiles } = require('@plugin-server/plugin-vm')
const { pageview } = require('/work/main/bench/dist/stage.js')
const srcs = {
  sync: `export function processEvent(event) { event.properties.a = true; return event }`,
  async: `export async function processEvent(event) { await null; event.properties.a = true; return event }`,
  cache: `export async function processEvent(event, { cache }) { event.properties.a = (await cache.incr('k' + event.distinct_id)) > 1; return event }`,
}
async function main() {
  const vm = new IsolatedVmPluginVm()
  const insts = {}
  for (const [k, src] of Object.entries(srcs)) {
    const source = await sourceFromFiles(new Map([['plugin.json', Buffer.from('{"name":"p"}')], ['index.js', Buffer.from(src)]]))
    insts[k] = await vm.load(source, new LocalHost(), { configId: 1 })
  }
  const batches = Array.from({ length: 20 }, (_, b) => JSON.stringify(Array.from({ length: 100 }, (_, i) => pageview(b * 100 + i, 1))))
  const N = 600
  for (let round = 0; round < 3; round++) {
    const out = []
    for (const [k, inst] of Object.entries(insts)) {
      const h0 = process.cpuUsage(); const t0 = inst.parts.isolate.cpuTime
      for (let i = 0; i < N; i++) await inst.processEventBatchText(batches[i % 20], 100)
      const h = process.cpuUsage(h0)
      out.push(`${k} ${((h.user + h.system) / (N * 100)).toFixed(2)} (isolate ${(Number(inst.parts.isolate.cpuTime - t0) / 1000 / (N * 100)).toFixed(2)})`)
    }
    console.log(out.join(' | '))
  }
  process.exit(0)
}
main()
