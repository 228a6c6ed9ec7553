import { PluginLoadError } from '../errors'
import { MAX_PLUGIN_BYTES, MAX_PLUGIN_FILES } from './limits'

function readString(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length)
  const end = raw.indexOf(0)
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8')
}

function readOctal(block: Buffer, start: number, length: number): number {
  const text = readString(block, start, length).trim()
  return text === '' ? 0 : parseInt(text, 8)
}

function paxPath(data: Buffer): string | undefined {
  // Records look like "<len> key=value\n".
  for (const line of data.toString('utf8').split('\n')) {
    const match = /^\d+ path=(.*)$/.exec(line)
    if (match) return match[1]
  }
  return undefined
}

/** Reads regular files from an uncompressed tar (ustar, GNU long names, pax paths). */
export function readTar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  let offset = 0
  let longName: string | undefined
  let total = 0
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512)
    if (header.every((b) => b === 0)) break
    const size = readOctal(header, 124, 12)
    const type = String.fromCharCode(header[156] || 48)
    const data = tar.subarray(offset + 512, offset + 512 + size)
    offset += 512 + Math.ceil(size / 512) * 512
    if (type === 'L') {
      longName = readString(data, 0, data.length)
      continue
    }
    if (type === 'x') {
      longName = paxPath(data) ?? longName
      continue
    }
    if (type === 'g') continue
    const prefix = readString(header, 345, 155)
    const name = longName ?? (prefix ? `${prefix}/${readString(header, 0, 100)}` : readString(header, 0, 100))
    longName = undefined
    if (type !== '0' && type !== '7') continue
    total += size
    if (files.size >= MAX_PLUGIN_FILES || total > MAX_PLUGIN_BYTES) {
      throw new PluginLoadError(`archive is too large (limit ${MAX_PLUGIN_FILES} files, ${MAX_PLUGIN_BYTES} bytes)`)
    }
    if (files.has(name)) throw new PluginLoadError(`archive has two entries named ${JSON.stringify(name)}`)
    files.set(name, Buffer.from(data))
  }
  return files
}
