import { jsonOutput, TableLayout } from './output'

/** The page after `last` (null: the first), at most `size` rows; fewer only at the end. */
export type PageReader<T> = (last: T | null, size: number) => Promise<T[]>

/** Rows read a page at a time; a chunk this size keeps the CLI's memory flat whatever the list's length. */
export const CLI_PAGE_SIZE = 1000

/** Every non-empty page, in order. */
async function* allPages<T>(readPage: PageReader<T>, size: number): AsyncGenerator<T[]> {
  let last: T | null = null
  for (;;) {
    const page = await readPage(last, size)
    if (page.length > 0) yield page
    if (page.length < size) return
    last = page[page.length - 1]
  }
}

export interface PrintPagesOptions {
  /** Rows per read; CLI_PAGE_SIZE by default. */
  size?: number
  /** stdout by default. */
  stream?: NodeJS.WritableStream
  /** JSON or the aligned table; as `printResult` decides by default (`--json`, or stdout not a terminal). */
  json?: boolean
}

/** Waits for a full pipe to drain, so a slow reader holds the command back instead of its memory growing. */
function writer(stream: NodeJS.WritableStream): (text: string) => Promise<void> {
  return (text) => (stream.write(text) ? Promise.resolve() : new Promise((resolve) => stream.once('drain', resolve)))
}

/**
 * Prints a whole list, as `printResult` would print it in one array, reading it a page at a time
 * and writing each page at once: JSON in `JSON.stringify(rows, null, 2)`'s exact layout; the aligned table
 * needs its column widths before its first line, so the list is read twice (measured, then
 * printed). A row added between the two reads is printed too, cut to the widths measured.
 */
export async function printAllPages<T extends object>(readPage: PageReader<T>, options: PrintPagesOptions = {}): Promise<void> {
  const { size = CLI_PAGE_SIZE, stream = process.stdout, json = jsonOutput() } = options
  const write = writer(stream)
  if (json) {
    let opening = '[\n  '
    for await (const page of allPages(readPage, size)) {
      await write(opening + page.map((row) => JSON.stringify(row, null, 2).replace(/\n/g, '\n  ')).join(',\n  '))
      opening = ',\n  '
    }
    return write(opening === '[\n  ' ? '[]\n' : '\n]\n')
  }
  const layout = new TableLayout()
  let rows = 0
  for await (const page of allPages(readPage, size)) {
    for (const row of page) layout.add(row as Record<string, unknown>)
    rows += page.length
  }
  if (rows === 0) return write('(none)\n')
  await write(`${layout.header()}\n`)
  for await (const page of allPages(readPage, size)) await write(page.map((row) => `${layout.line(row as Record<string, unknown>)}\n`).join(''))
}
