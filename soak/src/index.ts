import fs from 'node:fs'
import path from 'node:path'
import { formatReport } from './report'
import { runSoak } from './run-soak'

function numberFrom(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`)
  return value
}

/**
 * `npm run soak`: SOAK_SECONDS (1800), SOAK_EVENTS_PER_SECOND (50), SOAK_SAMPLE_SECONDS (30),
 * SOAK_WARMUP_SECONDS (300, at most a quarter of the run), SOAK_RELOAD_SECONDS (60),
 * SOAK_OUTPUT (soak-results.json in the run's directory).
 */
async function main(): Promise<void> {
  const seconds = numberFrom('SOAK_SECONDS', 1800)
  const report = await runSoak({
    seconds,
    eventsPerSecond: numberFrom('SOAK_EVENTS_PER_SECOND', 50),
    sampleSeconds: numberFrom('SOAK_SAMPLE_SECONDS', 30),
    warmupSeconds: numberFrom('SOAK_WARMUP_SECONDS', Math.min(300, seconds / 4)),
    reloadSeconds: numberFrom('SOAK_RELOAD_SECONDS', 60),
    timeScale: 1,
    log: (line) => process.stdout.write(`[soak] ${line}\n`),
  })
  const output = path.resolve(process.env.SOAK_OUTPUT ?? path.join(report.logDir, '..', 'soak-results.json'))
  fs.writeFileSync(output, JSON.stringify(report, null, 2))
  process.stdout.write(`${formatReport(report)}\nseries written to ${output}\n`)
  process.exit(report.failures.length === 0 ? 0 : 1)
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`soak run crashed: ${err.stack ?? err.message}\n`)
    process.exit(1)
  })
}
