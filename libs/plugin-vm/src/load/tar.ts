import { PluginLoadError } from '../errors'
import { MAX_PLUGIN_BYTES, MAX_PLUGIN_FILES } from './limits'

function readString(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length)
  const end = raw.indexOf(0)
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8')
}

/**
 * An octal number field, as tar writes it (digits, then a space or NUL). Anything else is refused:
 * `parseInt` read `-1000` as −512, and an entry of that size sent the reader back to its own header,
 * forever (a 46-byte archive held the installing process); GNU's base-256 sizes (over 8 GB) are none a plugin has.
 */
function readOctal(block: Buffer, start: number, length: number, field: string, at: number): number {
  const text = readString(block, start, length).trim()
  if (text === '') return 0
  if (!/^[0-7]{1,12}$/.test(text))
    throw new PluginLoadError(`archive is not a tar archive this server reads: the ${field} of the entry at byte ${at} is not an octal number`)
  return parseInt(text, 8)
}

/** Headers that describe the entry after them: GNU long name and link name, pax extended and global. */
const META_TYPES = new Set(['L', 'K', 'x', 'g'])

/**
 * The header's checksum, its bytes summed with the checksum field read as spaces: as unsigned bytes
 * (POSIX), and as signed ones, which old writers summed and GNU tar still accepts.
 */
function checksumOf(header: Buffer): [number, number] {
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < 512; i++) {
    const byte = i >= 148 && i < 156 ? 32 : header[i]
    unsigned += byte
    signed += byte > 127 ? byte - 256 : byte
  }
  return [unsigned, signed]
}

/** A pax header's records ("<len> key=value\n"): the path and size it sets for the next entry. */
function paxRecords(data: Buffer, at: number): { path?: string; size?: number } {
  const records: { path?: string; size?: number } = {}
  for (const line of data.toString('utf8').split('\n')) {
    const match = /^\d+ (path|size)=(.*)$/.exec(line)
    if (match?.[1] === 'path') records.path = match[2]
    else if (match?.[1] === 'size') {
      // As GNU tar does: the entry's data is this long, whatever its header says.
      if (!/^\d{1,15}$/.test(match[2]))
        throw new PluginLoadError(`archive is not a tar archive this server reads: the pax size of the entry at byte ${at} is not a number`)
      records.size = Number(match[2])
    }
  }
  return records
}

/**
 * Reads regular files from an uncompressed tar (ustar, GNU long names, pax paths and sizes), as GNU
 * tar reads it: a reviewer who unpacks the archive sees the files that are installed. A header whose
 * checksum is wrong, or a size that is no number, is refused.
 */
export function readTar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  let offset = 0
  let longName: string | undefined
  let paxSize: number | undefined
  let total = 0
  while (offset + 512 <= tar.length) {
    const at = offset
    const header = tar.subarray(at, at + 512)
    if (header.every((b) => b === 0)) break
    if (!checksumOf(header).includes(readOctal(header, 148, 8, 'checksum', at))) {
      throw new PluginLoadError(`archive is not a tar archive this server reads: the header at byte ${at} has a wrong checksum`)
    }
    const type = String.fromCharCode(header[156] || 48)
    // A pax size is the file entry's, after any long-name headers between them, as GNU tar reads it.
    const meta = META_TYPES.has(type)
    const size = !meta && paxSize !== undefined ? paxSize : readOctal(header, 124, 12, 'size', at)
    if (!meta) paxSize = undefined
    const data = tar.subarray(at + 512, at + 512 + size)
    offset = at + 512 + Math.ceil(size / 512) * 512
    if (type === 'L') {
      longName = readString(data, 0, data.length)
      continue
    }
    if (type === 'K') continue
    if (type === 'x') {
      const records = paxRecords(data, at)
      longName = records.path ?? longName
      paxSize = records.size
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
