import { discrepancy, Discrepancy } from './discrepancy'
import type { Load } from './load'

export interface JobFigures {
  /** Stored events whose processEvent enqueues a job: each one names the job's expected id. */
  expected: number
  /** Expected ids the sink saw a run for. */
  ran: number
  /** Ids that ran although no stored event named them. */
  unexpected: number
  /** Ids that ran more than once (at least once is the promise). */
  duplicates: number
  /** Jobs in BullMQ's failed set. */
  failed: number
}

export interface FailedJob {
  /** The event key the job's payload names, or its BullMQ id when the payload names none. */
  key: string
  reason: string
}

/** Jobs accounted for by id: every expected id ran at least once, and nothing ran whose id was not expected. */
export function checkJobs(
  load: Pick<Load, 'sent'>,
  stored: ReadonlyMap<string, unknown>,
  ran: ReadonlyMap<string, number>,
  failed: FailedJob[],
): { figures: JobFigures; discrepancies: Discrepancy[] } {
  const expected = new Set([...stored.keys()].filter((key) => load.sent.get(key)?.withJob))
  const duplicates = [...ran].filter(([, n]) => n > 1).map(([key]) => key)
  const unexpected = [...ran.keys()].filter((key) => !expected.has(key))
  return {
    figures: {
      expected: expected.size,
      ran: [...expected].filter((key) => ran.has(key)).length,
      unexpected: unexpected.length,
      duplicates: duplicates.length,
      failed: failed.length,
    },
    discrepancies: [
      discrepancy(
        'job expected (its event is stored), never ran',
        [...expected].filter((key) => !ran.has(key)),
        true,
      ),
      discrepancy('job ran, id not expected', unexpected, true),
      discrepancy('job ran more than once', duplicates, false),
      discrepancy(
        'job in the failed set',
        failed.map((f) => `${f.key}: ${f.reason}`),
        false,
      ),
    ],
  }
}
