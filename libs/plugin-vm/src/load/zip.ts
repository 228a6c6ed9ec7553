import { inflateRawSync } from 'zlib'
import { PluginLoadError } from '../errors'
import { MAX_PLUGIN_BYTES, MAX_PLUGIN_FILES } from './limits'

const EOCD = 0x06054b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50

function findEndOfCentralDirectory(zip: Buffer): number {
  // The record is 22 bytes plus a comment of at most 64 KiB at the very end.
  const stop = Math.max(0, zip.length - 22 - 0xffff)
  for (let i = zip.length - 22; i >= stop; i--) {
    if (zip.readUInt32LE(i) === EOCD) return i
  }
  throw new PluginLoadError('archive is not a valid zip file (no end of central directory)')
}

/** Inflates no more than the entry declares: a deflate stream that would go past it is refused. */
function inflate(name: string, data: Buffer, size: number): Buffer {
  try {
    return inflateRawSync(data, { maxOutputLength: Math.max(size, 1) })
  } catch (err) {
    throw new PluginLoadError(`zip entry ${name} is corrupt or larger than it declares (${size} bytes): ${(err as Error).message}`)
  }
}

/** Reads stored and deflated files from a zip (no zip64, no encryption). */
export function readZip(zip: Buffer): Map<string, Buffer> {
  const eocd = findEndOfCentralDirectory(zip)
  const count = zip.readUInt16LE(eocd + 10)
  let offset = zip.readUInt32LE(eocd + 16)
  if (count === 0xffff || offset === 0xffffffff) throw new PluginLoadError('zip64 archives are not supported')
  if (count > MAX_PLUGIN_FILES) throw new PluginLoadError(`archive has too many files (limit ${MAX_PLUGIN_FILES})`)
  const files = new Map<string, Buffer>()
  let total = 0
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== CENTRAL) throw new PluginLoadError('zip central directory is corrupt')
    const flags = zip.readUInt16LE(offset + 8)
    const method = zip.readUInt16LE(offset + 10)
    const compressedSize = zip.readUInt32LE(offset + 20)
    const size = zip.readUInt32LE(offset + 24)
    const nameLength = zip.readUInt16LE(offset + 28)
    const extraLength = zip.readUInt16LE(offset + 30)
    const commentLength = zip.readUInt16LE(offset + 32)
    const localOffset = zip.readUInt32LE(offset + 42)
    const name = zip.subarray(offset + 46, offset + 46 + nameLength).toString('utf8')
    offset += 46 + nameLength + extraLength + commentLength
    if (name.endsWith('/')) continue
    if (flags & 1) throw new PluginLoadError(`zip entry ${name} is encrypted`)
    // A stored entry is copied as its stored bytes: a size declared smaller (0, say, in entries that
    // all point at one large local file) would let a small archive expand past the limit.
    if (method === 0 && compressedSize !== size) throw new PluginLoadError(`zip entry ${name} is corrupt (stores ${compressedSize} bytes, declares ${size})`)
    if (files.has(name)) throw new PluginLoadError(`archive has two entries named ${JSON.stringify(name)}`)
    total += size
    if (total > MAX_PLUGIN_BYTES) throw new PluginLoadError(`archive is too large (limit ${MAX_PLUGIN_BYTES} bytes)`)
    if (zip.readUInt32LE(localOffset) !== LOCAL) throw new PluginLoadError(`zip entry ${name} is corrupt`)
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28)
    const data = zip.subarray(dataStart, dataStart + compressedSize)
    if (method === 0) files.set(name, Buffer.from(data))
    else if (method === 8) files.set(name, inflate(name, data, size))
    else throw new PluginLoadError(`zip entry ${name} uses unsupported compression method ${method}`)
  }
  return files
}
