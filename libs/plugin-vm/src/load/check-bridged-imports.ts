import type { Message } from 'esbuild'
import { esbuild } from './esbuild-service'
import { offeredMembers } from '../bridge/specs'
import { PluginLoadError } from '../errors'
import { bridgedRoot, normalizeModuleName } from '../modules'
import { bundleOptions, memoryFiles } from './compile'
import { PluginFiles } from './limits'

const STUB = 'bridged-module'

/** esbuild's two ways of saying a bridged root's stub has no such export: a named import, a namespace member. */
const MISSING = [
  new RegExp(`^No matching export in "${STUB}:([^"]+)" for import "([^"]+)"$`),
  new RegExp(`^Import "([^"]+)" will always be undefined because there is no matching export in "${STUB}:([^"]+)"$`),
]

function missingMember(message: Message): { module: string; member: string } | undefined {
  const named = MISSING[0].exec(message.text)
  if (named) return { module: named[1], member: named[2] }
  const member = MISSING[1].exec(message.text)
  return member ? { module: member[2], member: member[1] } : undefined
}

/**
 * Refuses, at install (and in `plugin run`), a plugin that imports a class a bridged module does not
 * offer (`import { Kinesis } from 'aws-sdk'`, `new AWS.SQS()` of `import * as AWS`). At run time
 * reading it throws (sandbox/bridge.ts), which shows only at setup or at the first event. Each
 * bridged root is bundled as a stub exporting exactly what it offers, so esbuild itself finds the
 * imports that match nothing. Capitalised names only, as at run time: a lower-case member read for a
 * feature check is undefined there, not an error. Imports used only as types (`AWSError`) are gone
 * before the check; `require('aws-sdk').Kinesis` and a default import's members are not checked.
 * Run after compilePlugin, which reports every other error.
 */
export async function checkBridgedImports(files: PluginFiles, entry: string, pluginName: string): Promise<void> {
  let messages: Message[] = []
  try {
    await esbuild({
      ...bundleOptions(entry),
      // A namespace import's missing member is a warning (a debug note in TypeScript files): an error here.
      logOverride: { 'import-is-undefined': 'error' },
      plugins: [
        memoryFiles(files, (path) => {
          const module = normalizeModuleName(path)
          // Deep imports (`aws-sdk/clients/s3`) stand for one member and stay unchecked, as sandbox modules do.
          return bridgedRoot(module) === module && offeredMembers(module) ? { path: module, namespace: STUB } : { path, external: true }
        }),
        {
          name: 'bridged-module-stubs',
          setup(b) {
            b.onLoad({ filter: /.*/, namespace: STUB }, (args) => ({
              contents: ['export default {}', ...(offeredMembers(args.path) ?? []).map((name) => `export const ${name} = undefined`)].join('\n'),
              loader: 'js',
            }))
          },
        },
      ],
    })
  } catch (error) {
    messages = (error as { errors?: Message[] }).errors ?? []
  }
  const refused = messages.flatMap((message) => {
    const missing = missingMember(message)
    if (!missing || !/^[A-Z]/.test(missing.member)) return []
    const where = message.location ? `${message.location.file.replace(/^plugin:/, '')}:${message.location.line}: ` : ''
    const offered = offeredMembers(missing.module) ?? []
    return [`${where}${missing.module}: "${missing.member}" is not available to plugins (${missing.module} offers: ${offered.join(', ') || 'nothing'})`]
  })
  if (refused.length > 0) throw new PluginLoadError(`plugin ${pluginName} imports what a bridged module does not offer: ${[...new Set(refused)].join('; ')}`)
}
