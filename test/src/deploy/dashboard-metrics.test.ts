import assert from 'node:assert/strict'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { CHART, dashboardQueries, dashboards, K8sObject, metricNames, render, REQUIRED_SETS } from './chart-tools'

const ROLES = ['capture', 'ingest-worker', 'exporter', 'scheduler', 'job-worker'] as const

/** Names as /metrics declares them (# TYPE), with a histogram's _bucket/_sum/_count series. */
function exported(text: string): Set<string> {
  const names = new Set<string>()
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name)
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix)
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix)
  }
  return names
}

// Starts every role as a real process, sends events through, and checks that every metric the
// dashboards query is in what the processes export (KEDA's lists are checked in helm-chart.test).
describe('dashboards against the metrics of running processes', function () {
  this.timeout(180_000)
  let fleet: TestFleet
  const outputs = new Map<string, string>()

  before(async () => {
    fleet = await createTestFleet({ TIME_SCALE: '100' })
    const procs = await Promise.all(ROLES.map((role) => fleet.start(role)))
    const body = {
      api_key: fleet.team.api_token,
      batch: Array.from({ length: 20 }, (_, i) => ({ event: 'dashboard test', distinct_id: `u${i}`, properties: {} })),
    }
    const response = await fetch(`${fleet.captureUrl}/batch/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    assert.equal(response.status, 200)
    await eventually(
      'events stored',
      async () => Number((await fleet.db.pool.query('SELECT count(*) FROM events')).rows[0].count),
      (n) => n === 20,
    )
    await eventually(
      'ingest job counted',
      () => procs[1].metrics(),
      (t) => /queue_jobs_processed_total\{[^}]*queue="ingest"[^}]*outcome="completed"[^}]*\} [1-9]/.test(t),
    )
    for (const [i, role] of ROLES.entries()) outputs.set(role, await procs[i].metrics())
  })
  after(() => fleet?.close())

  it('every metric a dashboard panel or variable queries is exported by some role', () => {
    const all = new Set([...outputs.values()].flatMap((text) => [...exported(text)]))
    const missing: string[] = []
    let checked = 0
    for (const { file, json } of dashboards()) {
      for (const query of dashboardQueries(json)) {
        for (const name of metricNames(query)) {
          checked++
          if (!all.has(name)) missing.push(`${file}: ${name} (in ${query})`)
        }
      }
    }
    assert.ok(checked > 50, `only ${checked} metric references found`)
    assert.deepEqual(missing, [])
  })

  it('every metric an alert of the PrometheusRule queries is exported by some role (kube-state-metrics aside)', () => {
    const all = new Set([...outputs.values()].flatMap((text) => [...exported(text)]))
    const rule = render([...REQUIRED_SETS, '--set', 'prometheusRule.enabled=true']).objects.find((o: K8sObject) => o.kind === 'PrometheusRule')!
    const exprs = (rule.spec as { groups: { rules: { expr: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.expr))
    const names = exprs.flatMap((expr) => metricNames(expr).map((name) => ({ name, expr })))
    assert.ok(names.length >= exprs.length, `only ${names.length} metric references in ${exprs.length} alerts`)
    const missing = names.filter(({ name }) => !name.startsWith('kube_') && !all.has(name))
    assert.deepEqual(missing, [])
  })

  it('reports real series: queue depth in every role, job counts where jobs ran', () => {
    // Only the samples of the named metrics, so a failure shows what was there.
    const samples = (role: string, name: string) =>
      outputs
        .get(role)!
        .split('\n')
        .filter((l) => l.startsWith(`${name}{`))
        .join('\n')
    for (const role of outputs.keys()) {
      assert.match(samples(role, 'queue_jobs'), /\{(?=[^}]*queue="ingest")(?=[^}]*state="waiting")[^}]*\} \d+/, role)
      assert.match(samples(role, 'queue_oldest_waiting_seconds'), /queue="export-deliveries"/, role)
      assert.match(samples(role, 'nodejs_eventloop_lag_p99_seconds'), /role=/, role)
    }
    assert.match(samples('ingest-worker', 'queue_job_duration_seconds_count'), /\{(?=[^}]*queue="ingest")(?=[^}]*outcome="completed")[^}]*\} [1-9]/)
    assert.match(samples('capture', 'capture_events_total'), /\} 20$/)
    assert.match(samples('ingest-worker', 'ingest_events_total'), /\{(?=[^}]*outcome="stored")[^}]*\} 20/)
  })

  it('histograms of what can run for tens of seconds (batches, their stages, capture enqueues) have buckets up to 60 s', () => {
    const bounds = (role: string, name: string) =>
      new Set([...outputs.get(role)!.matchAll(new RegExp(`^${name}_bucket\\{(?:[^}]*,)?le="([^"]+)"`, 'gm'))].map((m) => m[1]))
    for (const [role, name] of [
      ['ingest-worker', 'ingest_batch_seconds'],
      ['ingest-worker', 'ingest_stage_seconds'],
      ['capture', 'capture_enqueue_seconds'],
    ]) {
      const le = bounds(role, name)
      for (const bound of ['10', '30', '60']) assert.ok(le.has(bound), `${name}: le ${[...le].join(', ')}`)
    }
  })

  it('the metric-name extraction understands the queries it checks', () => {
    assert.deepEqual(metricNames('histogram_quantile(0.95, sum by (queue, le) (rate(queue_job_duration_seconds_bucket{queue=~"$queue"}[$__rate_interval])))'), [
      'queue_job_duration_seconds_bucket',
    ])
    assert.deepEqual(metricNames('label_values(queue_jobs, queue)'), ['queue_jobs'])
    assert.deepEqual(metricNames('x_total unless x_total offset 1h'), ['x_total'])
    assert.deepEqual(metricNames('max(scheduler_chains) or sum by (reason) (increase(scheduler_chains_created_total[1h]))'), [
      'scheduler_chains',
      'scheduler_chains_created_total',
    ])
    assert.ok(readFileSync(path.join(CHART, 'dashboards/queues.json'), 'utf8').includes('queue_jobs'))
  })
})
