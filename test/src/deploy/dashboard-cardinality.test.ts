import assert from 'node:assert/strict'
import { dashboardQueries, dashboards } from './chart-tools'

// A panel by config or team at 16 000 configs or 5 000 teams draws that many lines and makes
// Prometheus read that many series at every refresh: each is bounded to the few that matter.
describe('dashboards at the size of a large install', () => {
  it('every query that keeps a config or a team as a label shows only the top few (topk)', () => {
    const unbounded: string[] = []
    let checked = 0
    for (const { file, json } of dashboards()) {
      for (const query of dashboardQueries(json)) {
        if (query.startsWith('label_values(') || !/\bby \([^)]*\b(plugin_config_id|team_id)\b/.test(query)) continue
        checked++
        if (!query.startsWith('topk(')) unbounded.push(`${file}: ${query}`)
      }
    }
    assert.ok(checked > 10, `checked ${checked} queries`)
    assert.deepEqual(unbounded, [])
  })

  it('call-time percentiles come from per-plugin buckets, never per-config ones', () => {
    const perConfig = dashboards().flatMap(({ file, json }) =>
      dashboardQueries(json)
        .filter((q) => q.includes('histogram_quantile') && q.includes('plugin_config_id'))
        .map((q) => `${file}: ${q}`),
    )
    assert.deepEqual(perConfig, [])
  })
})
