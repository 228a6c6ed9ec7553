import fs from 'node:fs'
import path from 'node:path'
import { crc32, deflateRawSync } from 'node:zlib'

/** Minimal zip writer (deflate) so the test does not depend on a zip binary. */
export function makeZip(files: Map<string, Buffer>): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const [name, data] of files) {
    const nameBuf = Buffer.from(name)
    const packed = deflateRawSync(data)
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(8, 8)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(packed.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBuf.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(8, 10)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(packed.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(nameBuf.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, nameBuf, packed)
    centrals.push(central, nameBuf)
    offset += 30 + nameBuf.length + packed.length
  }
  const cd = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(files.size, 8)
  end.writeUInt16LE(files.size, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, end])
}

/**
 * A zip bomb of stored entries: one local file of `data`, and `copies` central entries that all point
 * at it, each declaring an uncompressed size of `declaredSize`.
 */
export function storedZipBomb(data: Buffer, copies: number, declaredSize = 0): Buffer {
  const name = Buffer.from('a')
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0)
  local.writeUInt16LE(20, 4)
  local.writeUInt32LE(crc32(data), 14)
  local.writeUInt32LE(data.length, 18)
  local.writeUInt32LE(data.length, 22)
  local.writeUInt16LE(name.length, 26)
  const centrals: Buffer[] = []
  for (let i = 0; i < copies; i++) {
    const copyName = Buffer.from(`f${i}.txt`)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt32LE(crc32(data), 16)
    central.writeUInt32LE(data.length, 20)
    central.writeUInt32LE(declaredSize, 24)
    central.writeUInt16LE(copyName.length, 28)
    centrals.push(central, copyName)
  }
  const cd = Buffer.concat(centrals)
  const localLength = 30 + name.length + data.length
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(copies, 8)
  end.writeUInt16LE(copies, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(localLength, 16)
  return Buffer.concat([local, name, data, cd, end])
}

/** Every file under `dir`, keyed by its path relative to `base` with forward slashes. */
function filesUnder(dir: string, base: string, into = new Map<string, Buffer>()): Map<string, Buffer> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) filesUnder(full, base, into)
    else into.set(path.relative(base, full).split(path.sep).join('/'), fs.readFileSync(full))
  }
  return into
}

/** Zips a folder with the folder itself at the top, as GitHub's archives are. */
export function zipFolder(dir: string): Buffer {
  return makeZip(filesUnder(dir, path.dirname(dir)))
}
