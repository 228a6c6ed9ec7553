import { promises as fs } from 'fs'
import type { PluginEvent } from '@plugin-server/plugin-vm'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function readSource(option: string, source: string): Promise<string> {
  if (source === '-') return readStdin()
  try {
    return await fs.readFile(source, 'utf8')
  } catch (err) {
    throw new Error(`${option}: cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

function isEvent(value: unknown): value is PluginEvent {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { event?: unknown }).event === 'string'
}

function checked(value: unknown, where: string): PluginEvent {
  if (!isEvent(value)) throw new Error(`${where} must be a PluginEvent JSON object with an "event" string`)
  return value
}

/** A PluginEvent JSON file, or stdin for `-`. */
export async function readEvent(source: string): Promise<PluginEvent> {
  const text = await readSource('--event', source)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new Error(`--event: not valid JSON: ${(err as Error).message}`)
  }
  return checked(parsed, '--event')
}

/**
 * Events for `plugin run --events`: a JSON array, or JSON lines (one event per line, blank lines
 * skipped), from a file or stdin for `-`. Errors name the index in the array or the line (from 1).
 */
export async function readEvents(source: string): Promise<PluginEvent[]> {
  const text = await readSource('--events', source)
  const events = text.trimStart().startsWith('[') ? fromArray(text) : fromLines(text)
  if (events.length === 0) throw new Error('--events: no events (expected a JSON array of events or one JSON event per line)')
  return events
}

function fromArray(text: string): PluginEvent[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new Error(`--events: not a valid JSON array: ${(err as Error).message}`)
  }
  if (!Array.isArray(parsed)) throw new Error('--events: expected a JSON array of events')
  return parsed.map((value, i) => checked(value, `--events: the event at index ${i}`))
}

function fromLines(text: string): PluginEvent[] {
  const events: PluginEvent[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch (err) {
      throw new Error(`--events: line ${i + 1} is not valid JSON: ${(err as Error).message}`)
    }
    events.push(checked(parsed, `--events: line ${i + 1}`))
  })
  return events
}
