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
  const layout = new TableLayout()
  for (const row of rows) layout.add(row)
  return [layout.header(), ...rows.map((row) => layout.line(row))].join('\n')
}

/**
 * A table's columns (every key the rows have, in first-seen order) and widths (the widest cell, at
 * most 60), learnt row by row, so a list read in pages can be measured in one pass and printed in
 * another without holding every row.
 */
export class TableLayout {
  private readonly keys: string[] = []
  private readonly widths: number[] = []

  add(row: Record<string, unknown>): void {
    for (const key of Object.keys(row)) {
      if (this.keys.includes(key)) continue
      this.keys.push(key)
      this.widths.push(Math.min(60, terminalText(key).length))
    }
    this.keys.forEach((key, i) => (this.widths[i] = Math.min(60, Math.max(this.widths[i], cell(row[key]).length))))
  }

  header(): string {
    return this.format(this.keys.map(terminalText))
  }

  line(row: Record<string, unknown>): string {
    return this.format(this.keys.map((key) => cell(row[key])))
  }

  private format(values: string[]): string {
    return values
      .map((v, i) => (v.length > this.widths[i] ? `${v.slice(0, this.widths[i] - 1)}…` : v.padEnd(this.widths[i])))
      .join('  ')
      .trimEnd()
  }
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (value instanceof Date) return value.toISOString()
  // JSON escapes C0 but not DEL or C1 (U+009B starts a sequence on many terminals).
  if (typeof value === 'object') return terminalText(JSON.stringify(value))
  return terminalText(String(value))
}
