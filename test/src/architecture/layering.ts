import fs from 'node:fs'
import path from 'node:path'

/**
 * The layers, lowest first (CONTRIBUTING.md draws them). A package may import only packages of a
 * strictly lower layer: never one above it, never one beside it. `cli` is the one app that starts the
 * others, so it sits above them.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['core', 'dev-services', 'admin-contract'],
  ['db', 'secrets', 'admin-ui'],
  ['plugin-vm'],
  ['plugin-runtime', 'management'],
  ['capture-lib', 'ingestion', 'export', 'scheduling'],
  ['try-it'],
  ['admin-api'],
  ['capture', 'ingest-worker', 'job-worker', 'scheduler', 'exporter'],
  ['cli'],
]

export interface Violation {
  rule: 'upward import' | 'internal import' | 'undeclared dependency' | 'cycle' | 'unplaced package' | 'star export'
  file: string
  detail: string
}

interface Workspace {
  /** `@plugin-server/<short>` → short */
  short: string
  dir: string
  dependencies: Set<string>
}

const SCOPE = '@plugin-server/'
/** import/export … from '…' and bare imports; group 1 is set for type-only statements (erased at run time). */
const STATEMENT = /^\s*(?:import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s*)?['"]([^'"]+)['"]/gm
const DYNAMIC = /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]/g
/** `export * from '…'` and `export type * from '…'`: a package index lists its exports by name instead. */
const STAR_EXPORT = /^\s*export\s+(?:type\s+)?\*\s*(?:as\s+\w+\s+)?from\s*['"][^'"]+['"]/gm

function workspaces(root: string): Workspace[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
  return pkg.workspaces.map((dir) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> }
    return {
      short: manifest.name.slice(SCOPE.length),
      dir,
      dependencies: new Set(Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith(SCOPE))),
    }
  })
}

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : []
  })
}

export interface ImportRef {
  specifier: string
  typeOnly: boolean
}

export function importsOf(code: string): ImportRef[] {
  return [
    ...[...code.matchAll(STATEMENT)].map((m) => ({ specifier: m[2], typeOnly: m[1] !== undefined })),
    ...[...code.matchAll(DYNAMIC)].map((m) => ({ specifier: m[1], typeOnly: false })),
  ]
}

function layerOf(short: string): number {
  return LAYERS.findIndex((layer) => layer.includes(short))
}

/** Resolves a relative import to a source file of the same package, if there is one. */
function resolveRelative(from: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(from), specifier)
  for (const candidate of [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts'), path.join(base, 'index.tsx')]) {
    if (fs.existsSync(candidate)) return candidate
  }
  return null
}

/**
 * Every layering rule broken under `root` (a checkout of this repository, or a fixture shaped like
 * one): an import of a package above or beside the importer, of another package's internals (a
 * path into it, by package name or relative path), of a package not declared in package.json, or
 * a cycle of run-time imports between the files of one package (type-only imports are erased), or
 * an `export *` in a package's src/index.ts (its public surface says by name what it exports).
 */
export function checkLayering(root: string): Violation[] {
  const violations: Violation[] = []
  const all = workspaces(root)
  for (const ws of all) {
    const own = layerOf(ws.short)
    if (own < 0)
      violations.push({
        rule: 'unplaced package',
        file: `${ws.dir}/package.json`,
        detail: `${SCOPE}${ws.short} is in no layer: add it to LAYERS and CONTRIBUTING.md`,
      })
    const srcDir = path.join(root, ws.dir, 'src')
    const index = path.join(srcDir, 'index.ts')
    if (fs.existsSync(index))
      for (const [statement] of fs.readFileSync(index, 'utf8').matchAll(STAR_EXPORT))
        violations.push({
          rule: 'star export',
          file: path.relative(root, index),
          detail: `${statement.trim()}: name what it exports (export { … } from, export type { … } from), only what other packages use`,
        })
    const graph = new Map<string, string[]>()
    for (const file of sourceFiles(srcDir)) {
      const rel = path.relative(root, file)
      const edges: string[] = []
      for (const { specifier, typeOnly } of importsOf(fs.readFileSync(file, 'utf8'))) {
        if (specifier.startsWith(SCOPE)) {
          const [short, ...rest] = specifier.slice(SCOPE.length).split('/')
          if (short === ws.short) continue
          if (rest.length > 0) violations.push({ rule: 'internal import', file: rel, detail: `${specifier}: import ${SCOPE}${short} (its index) instead` })
          const theirs = layerOf(short)
          if (own >= 0 && theirs >= own)
            violations.push({ rule: 'upward import', file: rel, detail: `${ws.short} (layer ${own}) imports ${short} (layer ${theirs})` })
          if (!ws.dependencies.has(`${SCOPE}${short}`))
            violations.push({ rule: 'undeclared dependency', file: rel, detail: `${SCOPE}${short} is not in ${ws.dir}/package.json dependencies` })
        } else if (specifier.startsWith('.')) {
          const target = path.resolve(path.dirname(file), specifier)
          if (!target.startsWith(path.join(root, ws.dir) + path.sep)) {
            violations.push({ rule: 'internal import', file: rel, detail: `${specifier} reaches outside ${ws.dir}: import the package by name` })
            continue
          }
          const resolved = resolveRelative(file, specifier)
          if (resolved && !typeOnly) edges.push(resolved)
        }
      }
      graph.set(file, edges)
    }
    for (const cycle of cycles(graph))
      violations.push({ rule: 'cycle', file: path.relative(root, cycle[0]), detail: cycle.map((f) => path.relative(root, f)).join(' → ') })
  }
  return violations
}

/** One cycle per strongly connected group of files (Tarjan), each listed from its first file back to it. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (node: string): void => {
    indices.set(node, index)
    low.set(node, index++)
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indices.get(next)!))
    }
    if (low.get(node) === indices.get(node)) {
      const group: string[] = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        group.push(member)
      } while (member !== node)
      const selfLoop = (graph.get(node) ?? []).includes(node)
      if (group.length > 1 || selfLoop) found.push([...group.reverse(), group[0]])
    }
  }
  for (const node of graph.keys()) if (!indices.has(node)) visit(node)
  return found
}
