/**
 * Where results go: JSON for scripts (`--json`, or whenever stdout is not a terminal, so pipes
 * and the scripts written against earlier versions keep getting JSON), aligned text for people at
 * a terminal. Progress and notices go to stderr either way.
 */
let forceJson = false

export function setJsonOutput(on: boolean): void {
  forceJson = on
}

export function jsonOutput(): boolean {
  return forceJson || !process.stdout.isTTY
}

export function printResult(value: unknown): void {
  process.stdout.write(jsonOutput() ? `${JSON.stringify(value, null, 2)}\n` : `${formatHuman(value)}\n`)
}

/** A list of objects as a table of their plain fields, an object as `field  value` lines. */
export function formatHuman(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : table(value.map(asRecord))
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>
    const width = Math.max(...Object.keys(record).map((k) => k.length))
    return Object.entries(record)
      .map(([key, v]) => `${key.padEnd(width)}  ${cell(v)}`)
      .join('\n')
  }
  return cell(value)
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value }
}

function table(rows: Record<string, unknown>[]): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const cells = rows.map((r) => columns.map((c) => cell(r[c])))
  const widths = columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((row) => row[i].length))))
  const line = (values: string[]) =>
    values
      .map((v, i) => (v.length > widths[i] ? `${v.slice(0, widths[i] - 1)}…` : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(columns), ...cells.map(line)].join('\n')
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}
