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

/**
 * One ustar header block, its size field written as given (`size` may be a number or any text, to
 * make malformed ones) and its checksum right unless `checksum` says what to write instead.
 */
export function tarHeader(name: string, size: number | string, type: string, checksum?: string): Buffer {
  const header = Buffer.alloc(512)
  header.write(name, 0)
  header.write('0000644\0', 100)
  header.write('0000000\0', 108)
  header.write('0000000\0', 116)
  header.write(typeof size === 'number' ? size.toString(8).padStart(11, '0') : size, 124)
  header.write('00000000000\0', 136)
  header.write(type, 156)
  header.write('ustar\u000000', 257)
  header.fill(32, 148, 156)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(checksum ?? `${sum.toString(8).padStart(6, '0')}\0 `, 148)
  return header
}

/** `data` padded to whole 512-byte blocks, as tar stores an entry's data. */
export function tarData(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)])
}

/** A pax header's data: one `<length> key=value\n` record per entry of `records`. */
export function paxData(records: Record<string, string>): Buffer {
  return Buffer.from(
    Object.entries(records)
      .map(([key, value]) => {
        const body = ` ${key}=${value}\n`
        let length = body.length + 1
        while (String(length).length + body.length !== length) length = String(length).length + body.length
        return `${length}${body}`
      })
      .join(''),
  )
}
