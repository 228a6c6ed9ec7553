import assert from 'node:assert/strict'
import { dueAfter, firstDue, nextDue, taskSchedule } from '@plugin-server/scheduling'

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000

describe('task schedules: due times phase-locked to UTC periods', () => {
  it('gives each (config, task) a stable phase in the first half of its interval, different for two configs', () => {
    assert.deepEqual(taskSchedule(7, 'runEveryDay', 1), taskSchedule(7, 'runEveryDay', 1))
    assert.notEqual(taskSchedule(1, 'runEveryMinute', 1).phaseMs, taskSchedule(2, 'runEveryMinute', 1).phaseMs)
    assert.notEqual(taskSchedule(1, 'runEveryMinute', 1).phaseMs / MINUTE, taskSchedule(1, 'runEveryHour', 1).phaseMs / HOUR)
    for (const [task, interval] of [
      ['runEveryMinute', MINUTE],
      ['runEveryHour', HOUR],
      ['runEveryDay', DAY],
    ] as const) {
      for (let id = 1; id <= 2000; id++) {
        const { intervalMs, phaseMs } = taskSchedule(id, task, 1)
        assert.equal(intervalMs, interval)
        assert.ok(Number.isInteger(phaseMs) && phaseMs >= 0 && phaseMs < interval / 2, `${task} of config ${id}: phase ${phaseMs}`)
      }
    }
  })

  it('spreads 10 000 configs evenly over the first half of the minute, not all at :00', () => {
    const buckets = new Array<number>(30).fill(0)
    for (let id = 1; id <= 10_000; id++) buckets[Math.floor(taskSchedule(id, 'runEveryMinute', 1).phaseMs / 1000)]++
    // 333 a second on average; a clumped hash would leave seconds empty or doubled.
    assert.ok(
      buckets.every((n) => n > 250 && n < 420),
      `configs due in each second of the minute: ${buckets.join(' ')}`,
    )
  })

  it('takes the next due time after a run’s own, and none in the period a late run started in, skipping the periods missed', () => {
    const schedule = { intervalMs: 1000, phaseMs: 300 }
    assert.equal(dueAfter(schedule, 5300), 6300)
    assert.equal(dueAfter(schedule, 5299), 5300)
    // On time, late within its period, early by a clock's skew: the next period's due time.
    assert.equal(nextDue(schedule, 5300, 5300), 6300)
    assert.equal(nextDue(schedule, 5300, 5950), 6300)
    assert.equal(nextDue(schedule, 5300, 5250), 6300)
    // Started in the next period, before or after that period's due time: it is that period's run.
    assert.equal(nextDue(schedule, 5300, 6100), 7300)
    assert.equal(nextDue(schedule, 5300, 6400), 7300)
    // Three periods late (every replica down): the periods missed are skipped.
    assert.equal(nextDue(schedule, 5300, 8100), 9300)
    assert.equal(nextDue(schedule, 5300, 8400), 9300)
  })

  it('runs a new runEveryMinute within the current minute, a new hour or day at its next due time, and never again in its last run’s period', () => {
    const minute = taskSchedule(3, 'runEveryMinute', 1)
    const day = taskSchedule(3, 'runEveryDay', 1)
    const startOfDay = Date.UTC(2026, 0, 10)
    const beforePhase = startOfDay + minute.phaseMs - 1
    assert.equal(firstDue(minute, 'runEveryMinute', beforePhase, null), startOfDay + minute.phaseMs)
    const pastPhase = startOfDay + minute.phaseMs + 5
    assert.equal(firstDue(minute, 'runEveryMinute', pastPhase, null), pastPhase, 'at once: its due time in this minute passed')
    assert.equal(firstDue(minute, 'runEveryMinute', pastPhase, pastPhase - 2), startOfDay + MINUTE + minute.phaseMs, 'this minute had its run')
    assert.equal(firstDue(minute, 'runEveryMinute', pastPhase, pastPhase - MINUTE), pastPhase, 'the last run was a minute before')
    const noon = startOfDay + DAY / 2
    assert.equal(firstDue(day, 'runEveryDay', noon, null), startOfDay + DAY + day.phaseMs)
    assert.equal(firstDue(day, 'runEveryDay', noon, noon - 3 * DAY), startOfDay + DAY + day.phaseMs)
  })

  it('takes a last run recorded after now (a replica whose clock was ahead) as ending now, so the first run waits a period at most', () => {
    const minute = taskSchedule(3, 'runEveryMinute', 1)
    const day = taskSchedule(3, 'runEveryDay', 1)
    const startOfDay = Date.UTC(2026, 0, 10)
    const now = startOfDay + 12 * 60 * MINUTE + minute.phaseMs + 5
    const sixHoursAhead = now + 6 * 60 * MINUTE
    assert.equal(firstDue(minute, 'runEveryMinute', now, sixHoursAhead), firstDue(minute, 'runEveryMinute', now, now))
    assert.equal(firstDue(minute, 'runEveryMinute', now, sixHoursAhead), startOfDay + 12 * 60 * MINUTE + MINUTE + minute.phaseMs)
    assert.equal(firstDue(day, 'runEveryDay', now, now + 3 * DAY), startOfDay + DAY + day.phaseMs)
  })
})
