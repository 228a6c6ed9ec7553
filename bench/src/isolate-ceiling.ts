import { spawn } from 'node:child_process'
import path from 'node:path'
import { printTable } from './table'

const CHILD = path.resolve(__dirname, 'isolate-ceiling-child.js')

/** The last count a child printed before it died, and how it died. */
async function ceiling(kind: 'distinct' | 'one-literal', functions: number): Promise<{ isolates: number; ending: string }> {
  const child = spawn(process.execPath, ['--no-node-snapshot', '--max-old-space-size=8192', CHILD, kind, String(functions)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let isolates = 0
  let partial = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    // A chunk may end inside a line: only whole lines are counts.
    const lines = (partial + text).split('\n')
    partial = lines.pop() ?? ''
    if (lines.length > 0) isolates = Number(lines[lines.length - 1])
  })
  child.stderr.setEncoding('utf8').on('data', (text: string) => void (stderr = (stderr + text).slice(-4096)))
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])))
  // V8's fatal out-of-memory prints its reason and aborts (SIGABRT / SIGTRAP): anything else is this bench's failure.
  if (!/heap_oom|out of memory/i.test(stderr))
    throw new Error(`isolate-ceiling child ${kind} ${functions} ended (${signal ?? code}) without V8's out-of-memory: ${stderr.slice(-500)}`)
  return { isolates, ending: `${signal ?? `exit ${code}`}, V8 out of memory` }
}

/**
 * How many isolates one process can hold (the scheduler's and the ingest worker's ceiling per
 * process), and that the limit is a process-wide table of JavaScript functions, not memory: the
 * same count after the process first made many functions of its own. Opt-in (`npm run bench --
 * isolate-ceiling`): each row holds ~5 GB of RAM until V8 aborts its process.
 */
export async function benchIsolateCeiling(): Promise<void> {
  process.stdout.write('isolates with a context each (16 MB limit) until V8 aborts the process, after the process first made and kept N functions of its own\n')
  const rows: string[][] = []
  const runs: Array<['distinct' | 'one-literal', number, string]> = [
    ['distinct', 0, 'none'],
    ['one-literal', 1_000_000, '1 000 000 closures of one function literal'],
    ['distinct', 500_000, '500 000 functions, each from its own source (new Function)'],
    ['distinct', 1_000_000, '1 000 000 functions, each from its own source (new Function)'],
  ]
  let none = NaN
  for (const [kind, functions, label] of runs) {
    const { isolates, ending } = await ceiling(kind, functions)
    if (functions === 0) none = isolates
    rows.push([label, String(isolates), (isolates / none).toFixed(3), ending])
  }
  printTable(['functions made first', 'isolates when the process died (±10)', 'ratio to none', 'ended'], rows)
}
