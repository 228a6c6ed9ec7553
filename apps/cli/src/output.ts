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

/** C0 and C1 control characters other than newline and tab (DEL included). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

/**
 * Text for a person's terminal: control characters shown as `\x1b` rather than sent. Plugins
 * write log lines, names, descriptions and errors, and an escape sequence in them would otherwise
 * drive the terminal (rewrite the screen, set the title, hide lines). Every human printer uses it.
 */
export function terminalText(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** A message for stderr, which people read: plugin-written text (a load error, a failed event) escaped as in terminalText. */
export function printError(message: string): void {
  process.stderr.write(`${terminalText(message)}\n`)
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
      .map(([key, v]) => `${terminalText(key).padEnd(width)}  ${cell(v)}`)
      .join('\n')
  }
  return cell(value)
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value }
}

function table(rows: Record<string, unknown>[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const columns = keys.map(terminalText)
  const cells = rows.map((r) => keys.map((k) => cell(r[k])))
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
  // JSON escapes C0 but not DEL or C1 (U+009B starts a sequence on many terminals).
  if (typeof value === 'object') return terminalText(JSON.stringify(value))
  return terminalText(String(value))
}
