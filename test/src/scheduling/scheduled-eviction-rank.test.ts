import assert from 'node:assert/strict'
import { dueAfter, scheduledEvictionRank, taskSchedule } from '@plugin-server/scheduling'

const MINUTE = 60_000

describe('scheduledEvictionRank: which idle config a scheduler over PLUGIN_MAX_LIVE_INSTANCES evicts first (the highest ranked)', () => {
  const config = 42
  const minute = taskSchedule(config, 'runEveryMinute', 1)
  // 2 s before this config's minute run falls due (within the 5 s horizon).
  const due = dueAfter(minute, Date.UTC(2026, 11, 6, 12, 0, 0))
  const rankAt = (now: number) => scheduledEvictionRank(1, () => now)

  it('evicts a config the scheduler never runs (no runEvery* export) first', () => {
    assert.equal(rankAt(due)(config, ['setupPlugin', 'processEvent'], due), Infinity)
  })

  it('keeps longest a config whose run falls due within 5 s, and longer still one whose run is due and waiting or late', () => {
    const soon = rankAt(due - 2_000)(config, ['runEveryMinute'], due - MINUTE)
    const waiting = rankAt(due + 1_000)(config, ['runEveryMinute'], due - MINUTE)
    assert.ok(soon > 0 && soon <= 1, `due in 2 s: ${soon}`)
    assert.ok(waiting < 0, `due 1 s ago, not run since: ${waiting}`)
    const later = rankAt(due - 20_000)(config, ['runEveryMinute'], due - MINUTE)
    assert.ok(later > 2, `due in 20 s: ${later}`)
  })

  it('ranks a config used since its latest due time (it ran) by its next run, a minute on', () => {
    const ran = rankAt(due + 1_000)(config, ['runEveryMinute'], due + 10)
    assert.ok(ran > 2 && ran < 3, `ran 1 s ago: ${ran}`)
  })

  it('evicts configs with only hour or day tasks before those with a minute task', () => {
    const now = dueAfter(taskSchedule(config, 'runEveryHour', 1), due) - 30 * MINUTE
    const hourly = rankAt(now)(config, ['runEveryHour'], now)
    const both = rankAt(now)(config, ['runEveryHour', 'runEveryMinute'], now)
    assert.ok(hourly > 3 && hourly < 4, `hourly: ${hourly}`)
    assert.ok(both < 3, `minute and hour: ${both}`)
  })

  it('keeps, of 5 000 configs that all just ran, a set spread over the whole minute, so their reloads are spread too', () => {
    // The minute's runs fall due in its first 30 s; 10 s later every config has run, and runs again 20–50 s on.
    const end = Date.UTC(2026, 11, 6, 12, 0, 40)
    const rank = rankAt(end)
    const configs = Array.from({ length: 5_000 }, (_, i) => i + 1)
    const ranked = configs.map((id) => ({ id, rank: rank(id, ['runEveryMinute'], end) }))
    for (const { rank } of ranked) assert.ok(rank > 2 && rank < 3)
    // A replica with room for 3 500 keeps the lowest ranked.
    const kept = ranked.sort((a, b) => a.rank - b.rank).slice(0, 3_500)
    const perSecond = new Array<number>(30).fill(0)
    for (const { id } of kept) perSecond[Math.floor(taskSchedule(id, 'runEveryMinute', 1).phaseMs / 1000)]++
    const all = new Array<number>(30).fill(0)
    for (const id of configs) all[Math.floor(taskSchedule(id, 'runEveryMinute', 1).phaseMs / 1000)]++
    // Each second of the minute keeps about 70 % of its configs (by the next run alone, the last 9 s would keep none).
    perSecond.forEach((n, second) => assert.ok(n >= 0.55 * all[second] && n <= 0.85 * all[second], `second ${second}: ${n} of ${all[second]} kept`))
  })

  it('follows TIME_SCALE, as the schedule does: the horizon is a twelfth of the minute', () => {
    const scaled = taskSchedule(config, 'runEveryMinute', 20)
    const scaledDue = dueAfter(scaled, due)
    const rank = scheduledEvictionRank(20, () => scaledDue - 200)
    assert.ok(rank(config, ['runEveryMinute'], scaledDue - 3_000) <= 1, 'due in 200 ms of a 3 s minute: within its 250 ms horizon')
  })
})
