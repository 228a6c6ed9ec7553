import { ChaosReport, runChaos } from './run-chaos'

/** `npm run chaos`: CHAOS_SECONDS (180), CHAOS_EVENTS_PER_SECOND (200), CHAOS_EXPORT_FAILURE_RATE (0.2). */
async function main(): Promise<void> {
  const report = await runChaos({
    seconds: Number(process.env.CHAOS_SECONDS ?? 180),
    eventsPerSecond: Number(process.env.CHAOS_EVENTS_PER_SECOND ?? 200),
    exportFailureRate: Number(process.env.CHAOS_EXPORT_FAILURE_RATE ?? 0.2),
    log: (line) => process.stdout.write(`[chaos] ${line}\n`),
  })
  printReport(report)
  process.exit(report.failures.length === 0 ? 0 : 1)
}

export function printReport(r: ChaosReport): void {
  const rows: [string, string][] = [
    ['events sent', String(r.sent)],
    ['events acknowledged by capture', String(r.acked)],
    ['acknowledged events stored (exactly once: uuid is the key)', String(r.stored)],
    ['stored events exported at least once', String(r.exported)],
    ['events exported more than once', String(r.exportDuplicates)],
    ['jobs enqueued / ran / failed with a reason', `${r.jobsExpected} / ${r.jobsRan} / ${r.jobsFailed.length}`],
    ['scheduled runs / overlaps / late beyond interval + lease', `${r.schedule.runs} / ${r.schedule.overlaps} / ${r.schedule.skips}`],
    ['longest gap between scheduled runs (outside outages)', `${r.schedule.maxGapMs} ms`],
    ['processes killed with SIGKILL', String(r.kills)],
    ['Redis and Postgres restarts', String(r.restarts)],
    ['max recovery time after a restart', `${r.maxRecoveryMs} ms`],
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  for (const [k, v] of rows) process.stdout.write(`| ${k.padEnd(width)} | ${v.padStart(17)} |\n`)
  process.stdout.write(r.failures.length === 0 ? 'chaos run: all checks passed\n' : `chaos run FAILED:\n  ${r.failures.join('\n  ')}\n`)
  for (const reason of r.jobsFailed.slice(0, 5)) process.stdout.write(`  failed job: ${reason}\n`)
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`chaos run crashed: ${err.stack ?? err.message}\n`)
    process.exit(1)
  })
}
