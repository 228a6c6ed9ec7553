import { formatReport } from './report'
import { runChaos } from './run-chaos'

/** `npm run chaos`: CHAOS_SECONDS (180), CHAOS_EVENTS_PER_SECOND (200), CHAOS_EXPORT_FAILURE_RATE (0.2). */
async function main(): Promise<void> {
  const report = await runChaos({
    seconds: Number(process.env.CHAOS_SECONDS ?? 180),
    eventsPerSecond: Number(process.env.CHAOS_EVENTS_PER_SECOND ?? 200),
    exportFailureRate: Number(process.env.CHAOS_EXPORT_FAILURE_RATE ?? 0.2),
    log: (line) => process.stdout.write(`[chaos] ${line}\n`),
  })
  process.stdout.write(`${formatReport(report)}\n`)
  process.exit(report.failures.length === 0 ? 0 : 1)
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`chaos run crashed: ${err.stack ?? err.message}\n`)
    process.exit(1)
  })
}
