import { promises as fs } from 'node:fs'
import { basename, extname } from 'node:path'
import type { AttachmentInput } from '@plugin-server/management'
import { parseKeyValues } from './option-parsers'

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.pem': 'application/x-pem-file',
  '.key': 'application/x-pem-file',
  '.xml': 'application/xml',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
}

/** `--attachment key=path` values read from disk (config create/update, plugin try); the type comes from the extension. */
export async function readAttachments(values: string[]): Promise<AttachmentInput[]> {
  return Promise.all(
    parseKeyValues('--attachment', values).map(async ([key, path]) => {
      let contents: Buffer
      try {
        contents = await fs.readFile(path)
      } catch (err) {
        throw new Error(`--attachment ${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
      }
      return { key, file_name: basename(path), content_type: CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', contents }
    }),
  )
}
