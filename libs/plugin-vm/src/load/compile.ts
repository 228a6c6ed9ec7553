import { createHash } from 'crypto'
import type { BuildOptions, OnResolveResult, Plugin as EsbuildPlugin } from 'esbuild'
import { esbuild } from './esbuild-service'
import { posix } from 'path'
import { PluginLoadError } from '../errors'
import { isKnownModule, normalizeModuleName } from '../modules'
import { PluginFiles } from './limits'

export interface CompiledPlugin {
  code: string
  codeHash: string
  imports: string[]
  /** esbuild's source map of `code` (no sources content); absent when over MAX_SOURCE_MAP_BYTES. */
  sourceMap?: string
}

/** A map this large is not kept: every loaded version holds its map, and frames then name the bundle. */
export const MAX_SOURCE_MAP_BYTES = 8 * 1024 * 1024

/**
 * Ends every source file, after the plugin's own text: esbuild reads the last sourceMappingURL
 * comment of an input as that input's map, so a plugin's own comment could make stacks name
 * anything, or (relative to a resolveDir) have a host file read. This one is relative and the
 * files have no resolveDir, so esbuild reads nothing and maps the plugin's text as it is.
 */
const NO_INPUT_MAP = '\n//# sourceMappingURL=plugin-input-map-ignored\n'

const SOURCE_EXTENSIONS = ['', '.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.json', '/index.ts', '/index.js']
const NAMESPACE = 'plugin'

function resolveRelative(files: PluginFiles, importer: string, request: string): string | undefined {
  const base = posix.normalize(posix.join(posix.dirname(importer), request))
  return SOURCE_EXTENSIONS.map((ext) => base + ext).find((candidate) => files.has(candidate))
}

/** What a bare import (`pg`, `aws-sdk/clients/s3`) resolves to: the modules the sandbox provides are external to the bundle. */
export type ResolveBare = (path: string) => OnResolveResult

/** Serves the in-memory plugin files to esbuild, refuses unknown bare imports and hands known ones to `bare`. */
export function memoryFiles(files: PluginFiles, bare: ResolveBare): EsbuildPlugin {
  return {
    name: 'plugin-files',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return { path: args.path, namespace: NAMESPACE }
        if (args.path.startsWith('.') || args.path.startsWith('/')) {
          const found = resolveRelative(files, args.importer, args.path)
          if (!found) return { errors: [{ text: `cannot find ${args.path} imported from ${args.importer}` }] }
          return { path: found, namespace: NAMESPACE }
        }
        if (!isKnownModule(args.path)) {
          return { errors: [{ text: `module "${args.path}" is not available to plugins` }] }
        }
        return bare(args.path)
      })
      b.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
        const json = args.path.endsWith('.json')
        const text = files.get(args.path)?.toString('utf8') ?? ''
        const deep = tooDeep(args.path, text)
        if (deep !== null) return { errors: [{ text: deep }] }
        // PostHog compiled .js as TypeScript too; JSON stays JSON (and has no comments to add).
        // No resolveDir: imports are resolved above from the importer, and none means no file is read for a map.
        return { contents: json ? text : text + NO_INPUT_MAP, loader: json ? 'json' : 'ts' }
      })
    },
  }
}

/** Brackets a file may nest: code nests a few dozen; esbuild's parser recurses at each level. */
export const MAX_BRACKET_DEPTH = 1000

/**
 * Why the text nests brackets too deeply for esbuild, or null. Every bracket counts, in strings and
 * comments too, which only overstates it: a closing one never takes the depth below 0, so closing
 * brackets in a comment cannot make room for the opening ones after it. A 2 KB archive whose file
 * nested a million `[` crashed esbuild's service (out of stack, at 1 GB) for every later compile in
 * the process; 160 000 levels compiled, and left the service holding 930 MB.
 */
function tooDeep(file: string, text: string): string | null {
  let depth = 0
  let line = 1
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 40 || c === 91 || c === 123) {
      if (++depth > MAX_BRACKET_DEPTH) return `${file}: brackets nest more than ${MAX_BRACKET_DEPTH} deep at line ${line}, deeper than esbuild compiles safely`
    } else if (c === 41 || c === 93 || c === 125) depth = Math.max(0, depth - 1)
    else if (c === 10) line++
  }
  return null
}

/** esbuild's messages as one line, each with its file (without the namespace) and line. */
export function describeBuildErrors(error: unknown): string {
  const errors = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors
  return errors?.length
    ? errors.map((e) => (e.location ? `${e.location.file.replace(/^plugin:/, '')}:${e.location.line}: ${e.text}` : e.text)).join('; ')
    : (error as Error).message
}

/**
 * How a plugin is bundled, for its code and for the import check alike. Tree shaking is off so
 * legacy plugins that only declare top-level functions (no exports) keep them.
 */
export function bundleOptions(entry: string): BuildOptions & { write: false } {
  return {
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'cjs',
    platform: 'neutral',
    target: 'es2022',
    treeShaking: false,
    logLevel: 'silent',
    outfile: 'plugin.js',
  }
}

/**
 * Bundles the plugin into one CommonJS body (bundleOptions).
 */
export async function compilePlugin(files: PluginFiles, entry: string, pluginName: string): Promise<CompiledPlugin> {
  const imports = new Set<string>()
  try {
    const result = await esbuild({
      ...bundleOptions(entry),
      // External: the code carries no comment, so its hash (the compiled-script cache key) is the map's too.
      sourcemap: 'external',
      sourcesContent: false,
      plugins: [
        memoryFiles(files, (path) => {
          imports.add(normalizeModuleName(path))
          return { path, external: true }
        }),
      ],
    })
    const code = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? ''
    const map = result.outputFiles.find((f) => f.path.endsWith('.js.map'))?.text
    const sourceMap = map !== undefined && Buffer.byteLength(map) <= MAX_SOURCE_MAP_BYTES ? map : undefined
    return { code, codeHash: createHash('sha256').update(code).digest('hex'), imports: [...imports].sort(), ...(sourceMap ? { sourceMap } : {}) }
  } catch (error) {
    throw new PluginLoadError(`plugin ${pluginName} failed to compile: ${describeBuildErrors(error)}`)
  }
}
