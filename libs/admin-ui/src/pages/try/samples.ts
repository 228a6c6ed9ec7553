import type { PluginEvent } from '../../api/types'

export interface Sample {
  name: string
  label: string
  event: PluginEvent
}

const now = () => new Date().toISOString()

/** Events to start from; `$ip` is a public address so a GeoIP plugin has something to look up. */
export function samples(): Sample[] {
  return [
    {
      name: 'pageview',
      label: '$pageview with $ip',
      event: {
        event: '$pageview',
        distinct_id: 'user-1',
        timestamp: now(),
        ip: '89.160.20.129',
        properties: { $current_url: 'https://example.com/pricing', $ip: '89.160.20.129', $browser: 'Firefox' },
      },
    },
    {
      name: 'custom',
      label: 'custom event',
      event: { event: 'purchase completed', distinct_id: 'user-1', timestamp: now(), properties: { plan: 'team', amount: 49, currency: 'EUR' } },
    },
    {
      name: 'identify',
      label: '$identify',
      event: { event: '$identify', distinct_id: 'user-1', timestamp: now(), properties: { $set: { email: 'ada@example.com', name: 'Ada' } } },
    },
  ]
}
