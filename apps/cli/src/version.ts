import fs from 'node:fs'
import path from 'node:path'

/** The root package's version: the CLI ships as that package's bin. */
export function cliVersion(): string {
  const file = path.resolve(__dirname, '../../../package.json')
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version
}
