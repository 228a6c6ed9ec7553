import assert from 'node:assert/strict'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext, writePlugin } from '../harness/plugins'
import {
  CHART,
  dashboardQueries,
  dashboards,
  enclosingFunctions,
  groupings,
  K8sObject,
  metricNames,
  parseExposition,
  render,
  REQUIRED_SETS,
  selectors,
} from './chart-tools'

const ROLES = ['capture', 'ingest-worker', 'exporter', 'scheduler', 'job-worker'] as const

/** `a|(b|c)d|e` → ['a', '(b|c)d', 'e']: the alternatives of a regex outside any group. */
function topLevelAlternatives(regex: string): string[] {
  const parts = ['']
  let depth = 0
  for (let i = 0; i < regex.length; i++) {
    const c = regex[i]
    if (c === '\\') {
      parts[parts.length - 1] += c + (regex[++i] ?? '')
      continue
    }
    if (c === '(') depth++
    if (c === ')') depth--
    if (c === '|' && depth === 0) parts.push('')
    else parts[parts.length - 1] += c
  }
  return parts
}

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

// Plugins that make every kind of series appear: processEvent that fails or drops some events and
// counts in meta.metrics, a runEveryMinute that enqueues a job that works and one that fails and
// itself fails every other run, an exportEvents that delivers, retries (RetryError) or gives up
// (dead letters), one that cannot load.
const PROCESSOR = `
export const metrics = { seen: 'sum' }
export const jobs = {
  works: async () => {},
  fails: async () => { throw new Error('this job fails on purpose') },
}
export async function processEvent(event, { metrics }) {
  metrics.seen.increment(1)
  if (event.properties?.fail) throw new Error('processEvent fails on purpose')
  if (event.properties?.drop) return null
  return event
}
let runs = 0
export async function runEveryMinute({ jobs }) {
  await jobs.works({}).runNow()
  await jobs.fails({}).runNow()
  if (++runs % 2 === 0) throw new Error('this run fails on purpose')
}`
const EXPORTER = `
import { RetryError } from '@posthog/plugin-scaffold'
export async function exportEvents(events) {
  if (events.some((e) => e.properties?.retry)) throw new RetryError('destination away, on purpose')
  if (events.some((e) => e.properties?.fail)) throw new Error('destination refuses, on purpose')
}`

// Starts every role as a real process, drives events, plugin errors, exports (delivered, retried,
// dead letters), scheduled runs and jobs through it, and checks every metric and label the
// dashboards and alerts query against what the processes export (KEDA's lists: helm-chart.test).
describe('dashboards against the metrics of running processes', function () {
  this.timeout(240_000)
  let fleet: TestFleet
  const outputs = new Map<string, string>()

  before(async () => {
    fleet = await createTestFleet({
      TIME_SCALE: '100',
      SCHEDULER_RECONCILE_INTERVAL_MS: '1000',
      PLUGIN_RECONCILE_INTERVAL_MS: '1000',
      EXPORT_BUFFER_MAX_AGE_MS: '200',
    })
    const management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    try {
      await enablePlugin(management, fleet.team.id, writePlugin('dashboard processor', PROCESSOR))
      await enablePlugin(management, fleet.team.id, writePlugin('dashboard exporter', EXPORTER))
      await enablePlugin(
        management,
        fleet.team.id,
        writePlugin('dashboard broken', `if (!globalThis.never) throw new Error('cannot load')\nexport async function processEvent(e) { return e }`),
      )
    } finally {
      await management.close()
    }
    const procs = new Map(await Promise.all(ROLES.map(async (role) => [role, await fleet.start(role)] as const)))
    const scrape = (role: (typeof ROLES)[number]) => procs.get(role)!.metrics()
    const send = async (count: number, properties: Record<string, unknown>) => {
      const body = {
        api_key: fleet.team.api_token,
        batch: Array.from({ length: count }, (_, i) => ({ event: 'dashboard test', distinct_id: `u${i}`, properties })),
      }
      const response = await fetch(`${fleet.captureUrl}/batch/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      assert.equal(response.status, 200)
    }
    const counted =
      (name: string, labels = '') =>
      (t: string) =>
        new RegExp(`^${name}\\{${labels}[^}]*\\} [1-9]`, 'm').test(t)
    await send(20, {})
    await eventually(
      'events stored',
      async () => Number((await fleet.db.pool.query('SELECT count(*) FROM events')).rows[0].count),
      (n) => n === 20,
    )
    await eventually(
      'ingest job counted',
      () => scrape('ingest-worker'),
      counted('queue_jobs_processed_total', '(?=[^}]*queue="ingest")(?=[^}]*outcome="completed")'),
    )
    await eventually('a batch delivered', () => scrape('exporter'), counted('plugin_export_events_delivered_successfully_total'))
    // One kind per request, each after the last was exported: the exporter's buffer would join them.
    await send(3, { fail: true })
    await eventually('a batch given up on', () => scrape('exporter'), counted('plugin_export_undelivered_events_total'))
    await eventually('the dead letter counted by the scheduler', () => scrape('scheduler'), counted('plugin_export_dead_letters_pending'))
    await send(2, { drop: true })
    await send(2, { retry: true })
    await eventually('a batch retried', () => scrape('exporter'), counted('plugin_export_retry_errors_total'))
    await eventually(
      'processEvent failed and dropped',
      () => scrape('ingest-worker'),
      (t) => counted('plugin_errors_total')(t) && counted('plugin_events_dropped_total')(t),
    )
    await eventually(
      'a scheduled run that works and one that fails',
      () => scrape('scheduler'),
      (t) => counted('scheduler_task_runs_total', '(?=[^}]*outcome="success")')(t) && counted('scheduler_task_runs_total', '(?=[^}]*outcome="error")')(t),
    )
    await eventually(
      'a job that works and one that fails',
      () => scrape('job-worker'),
      (t) => counted('plugin_jobs_total', '(?=[^}]*outcome="success")')(t) && counted('plugin_jobs_total', '(?=[^}]*outcome="failed")')(t),
    )
    await eventually('meta.metrics reported', () => scrape('capture'), counted('plugin_metric'))
    for (const role of ROLES) outputs.set(role, await scrape(role))
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

  /** Every query with what it is shown or alerted by: a panel's legend, an alert's annotations. */
  const queries = (): { where: string; expr: string; shown: string }[] => {
    const rule = render([...REQUIRED_SETS, '--set', 'prometheusRule.enabled=true']).objects.find((o: K8sObject) => o.kind === 'PrometheusRule')!
    const rules = (rule.spec as { groups: { rules: { alert: string; expr: string; annotations?: Record<string, string> }[] }[] }).groups.flatMap((g) => g.rules)
    const targets = dashboards().flatMap(({ file, json }) => {
      const found: { where: string; expr: string; shown: string }[] = []
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) return node.forEach(walk)
        if (node === null || typeof node !== 'object') return
        const record = node as Record<string, unknown>
        if (typeof record.expr === 'string') found.push({ where: file, expr: record.expr, shown: String(record.legendFormat ?? '') })
        if (typeof record.definition === 'string') found.push({ where: file, expr: record.definition, shown: '' })
        Object.values(record).forEach(walk)
      }
      walk(json)
      return found
    })
    return [...targets, ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr, shown: JSON.stringify(r.annotations ?? {}) }))]
  }
  // Labels Prometheus gives every scraped series (the ServiceMonitor's target labels), not the process.
  const TARGET_LABELS = new Set(['pod', 'namespace', 'instance', 'job', 'service', 'container', 'endpoint'])
  // Series that appear only in a state this run does not reach (or not surely by its scrape), with the
  // labels their code declares: their labels are checked against these.
  const NOT_REACHED: Record<string, string[]> = {
    plugin_team_memory_exceeded_total: ['role'], // a team over PLUGIN_TEAM_MEMORY_LIMIT_MB
    plugin_process_memory_unloaded_total: ['role'], // the process over PLUGIN_PROCESS_MEMORY_LIMIT_MB
    plugin_team_redis_refused_total: ['team_id', 'kind'], // a team at PLUGIN_TEAM_REDIS_LIMIT_MB
    plugin_team_redis_bytes: ['team_id'], // a team holding Redis keys (cache, cursors, jobs) at the scheduler's read
    plugin_team_storage_bytes: ['team_id'], // a team with meta.storage rows
    plugin_export_team_pending_events: ['team_id'], // a team with live events waiting for delivery at the scrape
    scheduler_task_overlaps_total: ['task'],
    scheduler_task_takeovers_total: ['task'],
    scheduler_chains_removed_total: ['reason'],
  }
  // Label values of series this run exports, but not with these values, which only such a state
  // makes appear: an `=` or `=~` alternative naming one is checked against the metric's HELP instead.
  const VALUES_NOT_REACHED: Record<string, Record<string, string[]>> = {
    scheduler_task_runs_total: { outcome: ['timeout'] }, // a run stopped at a limit (PLUGIN_TIMEOUT_MS, memory): a breach the breaker counts, but for a deadline spent waiting
  }

  it('every label a query selects, groups or joins by, or shows in a legend or alert is on the series the roles export', () => {
    const exported = new Map<string, { type: string; series: Record<string, string>[] }>()
    for (const text of outputs.values()) {
      for (const [name, entry] of parseExposition(text)) {
        const into = exported.get(name)
        if (into) into.series.push(...entry.series)
        else exported.set(name, { type: entry.type, series: [...entry.series] })
      }
    }
    const labelsOf = (metric: string): Set<string> | null => {
      if (metric.startsWith('kube_')) return null
      const series = exported.get(metric)?.series ?? []
      if (series.length === 0)
        return NOT_REACHED[metric.replace(/_(bucket|sum|count)$/, '')] ? new Set(NOT_REACHED[metric.replace(/_(bucket|sum|count)$/, '')]) : new Set()
      return new Set(series.flatMap((s) => Object.keys(s)))
    }
    const problems: string[] = []
    let checked = 0
    for (const { where, expr, shown } of queries()) {
      const has = (metric: string, label: string) => TARGET_LABELS.has(label) || labelsOf(metric) === null || labelsOf(metric)!.has(label)
      for (const { metric, matchers } of selectors(expr)) {
        for (const { label, op, value } of matchers) {
          checked++
          if (!has(metric, label)) problems.push(`${where}: ${metric} has no label ${label} (in ${expr})`)
          else if ((op === '=' || op === '=~') && !value.includes('$') && labelsOf(metric) !== null && exported.get(metric)?.series.length) {
            // Each alternative of a regex on its own: `queue=~"export|exportz"` must not pass on export alone.
            for (const alternative of op === '=' ? [value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')] : topLevelAlternatives(value)) {
              const re = new RegExp(`^(?:${alternative})$`)
              if (exported.get(metric)!.series.some((s) => re.test(s[label] ?? ''))) continue
              const unreached = VALUES_NOT_REACHED[metric]?.[label]?.find((v) => re.test(v))
              // Its HELP names the value, so a misspelt one in this list does not pass either.
              const declared =
                unreached !== undefined && [...outputs.values()].some((text) => new RegExp(`^# HELP ${metric} .*\\b${unreached}\\b`, 'm').test(text))
              if (!declared) problems.push(`${where}: no ${metric} series has ${label} matching ${alternative}`)
            }
          }
        }
      }
      const grouped = groupings(expr)
      for (const { clause, labels, metrics } of grouped) {
        for (const label of labels) {
          for (const metric of metrics) {
            checked++
            if (!has(metric, label)) problems.push(`${where}: ${clause} (${label}) but ${metric} has no such label (in ${expr})`)
          }
        }
      }
      // A legend or an annotation can only name a label the result keeps: one grouped by, or, when
      // nothing aggregates, one of the series.
      const kept = new Set(grouped.flatMap((g) => g.labels))
      for (const [, label] of shown.matchAll(/(?:\{\{\s*|\$labels\.)(\w+)/g)) {
        checked++
        const aggregated = /\b(sum|max|min|avg|count|topk|bottomk)\b/.test(expr)
        if (aggregated ? !kept.has(label) : !metricNames(expr).every((m) => has(m, label)))
          problems.push(`${where}: shows ${label}, which ${expr} does not keep`)
      }
    }
    assert.ok(checked > 150, `only ${checked} labels checked`)
    assert.deepEqual(problems, [])
  })

  it('rates only counters and histogram buckets, never gauges, and takes quantiles over le', () => {
    const types = new Map<string, string>()
    for (const text of outputs.values()) for (const [name, { type }] of parseExposition(text)) types.set(name, type)
    const RATES = new Set(['rate', 'irate', 'increase'])
    const problems: string[] = []
    for (const { where, expr } of queries()) {
      for (const { metric, functions } of enclosingFunctions(expr)) {
        const type = types.get(metric)
        // label_values(x, l) reads only the label's values, whatever x counts.
        if (type === undefined || functions[0] === 'label_values') continue
        const rated = RATES.has(functions[0])
        const cumulative = type === 'counter' || type === 'histogram' || type === 'summary'
        // A series' first appearance: `x unless x offset 1h` reads a counter as a number on purpose.
        const firstAppearance = new RegExp(`${metric}\\s+unless\\s+${metric}\\b`).test(expr.replace(/\{[^}]*\}/g, ''))
        if (cumulative && !rated && !firstAppearance) problems.push(`${where}: counter ${metric} read without rate()/increase() (in ${expr})`)
        if (!cumulative && functions.some((f) => RATES.has(f)))
          problems.push(`${where}: gauge ${metric} under ${functions.find((f) => RATES.has(f))}() (in ${expr})`)
        if (metric.endsWith('_bucket') && !functions.includes('histogram_quantile'))
          problems.push(`${where}: ${metric} outside histogram_quantile (in ${expr})`)
      }
      for (const { clause, labels, metrics } of groupings(expr)) {
        if (clause === 'by' && metrics.some((m) => m.endsWith('_bucket')) && !labels.includes('le'))
          problems.push(`${where}: by (${labels.join(', ')}) over buckets without le (in ${expr})`)
      }
    }
    assert.deepEqual(problems, [])
  })

  it('panels are in the unit of what they plot: seconds, bytes, per second, or a share', () => {
    const problems: string[] = []
    for (const { file, json } of dashboards()) {
      const panels: Record<string, unknown>[] = []
      const walk = (list: unknown) => (list as Record<string, unknown>[] | undefined)?.forEach((p) => (panels.push(p), walk(p.panels)))
      walk(json.panels)
      for (const panel of panels) {
        const exprs = ((panel.targets ?? []) as { expr: string }[]).map((t) => t.expr)
        if (exprs.length === 0) continue
        const unit = (panel.fieldConfig as { defaults?: { unit?: string } } | undefined)?.defaults?.unit
        const kinds = new Set(
          exprs.map((expr) => {
            if (/\/|scalar\(/.test(expr)) return 'ratio'
            if (/^histogram_quantile/.test(expr)) return /_seconds_bucket/.test(expr) ? 's' : 'short'
            if (/\b(rate|irate)\(/.test(expr)) return /_seconds(_total|_sum)\b/.test(expr) ? 'percentunit' : 'per second'
            if (/\b(increase|changes)\(|^count/.test(expr)) return 'short'
            const names = metricNames(expr)
            if (names.every((n) => n.endsWith('_seconds'))) return 's'
            if (names.every((n) => n.endsWith('_bytes'))) return 'bytes'
            return 'short'
          }),
        )
        const allowed: Record<string, string[]> = {
          s: ['s'],
          bytes: ['bytes'],
          'per second': ['ops', 'reqps'],
          percentunit: ['percentunit'],
          ratio: ['percentunit'],
          short: ['short'],
        }
        if (kinds.size !== 1 || !allowed[[...kinds][0]].includes(unit ?? ''))
          problems.push(`${file} "${String(panel.title)}": unit ${unit}, plots ${[...kinds].join(' and ')}`)
      }
    }
    assert.deepEqual(problems, [])
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
    assert.match(samples('capture', 'capture_events_total'), /\} 27$/)
    assert.match(samples('ingest-worker', 'ingest_events_total'), /\{(?=[^}]*outcome="stored")[^}]*\} 2[0-7]$/m)
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
    const alert =
      'max by (queue) (queue_oldest_waiting_seconds{queue=~"export|x"}) > 9\nand on (queue) deriv(max by (queue) (queue_jobs{state="waiting"})[15m:1m]) > 0'
    assert.deepEqual(selectors(alert), [
      { metric: 'queue_oldest_waiting_seconds', matchers: [{ label: 'queue', op: '=~', value: 'export|x' }] },
      { metric: 'queue_jobs', matchers: [{ label: 'state', op: '=', value: 'waiting' }] },
    ])
    assert.deepEqual(groupings(alert), [
      { clause: 'by', labels: ['queue'], metrics: ['queue_oldest_waiting_seconds'] },
      { clause: 'on', labels: ['queue'], metrics: ['queue_oldest_waiting_seconds', 'queue_jobs'] },
      { clause: 'by', labels: ['queue'], metrics: ['queue_jobs'] },
    ])
    assert.deepEqual(enclosingFunctions('topk(3, sum by (a) (rate(x_total{a="b"}[5m]))) / scalar(max(y))'), [
      { metric: 'x_total', functions: ['rate', 'sum', 'topk'] },
      { metric: 'y', functions: ['max', 'scalar'] },
    ])
    assert.deepEqual(topLevelAlternatives('scheduled(-[0-9]+|x)?|jobs'), ['scheduled(-[0-9]+|x)?', 'jobs'])
    assert.ok(readFileSync(path.join(CHART, 'dashboards/queues.json'), 'utf8').includes('queue_jobs'))
  })
})
