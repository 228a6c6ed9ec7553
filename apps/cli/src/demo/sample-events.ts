import { PostHog } from 'posthog-node'

const PAGES = ['/', '/pricing', '/docs', '/blog', '/signup']
const BROWSERS = ['Chrome', 'Firefox', 'Safari']
const IPS = ['89.160.20.128', '81.2.69.160', '216.160.83.56', '2.125.160.216']

/** Sends `count` plausible events through the real posthog-node client, as a customer's backend would. */
export async function sendSampleEvents(host: string, apiKey: string, count: number, offset = 0): Promise<void> {
  const client = new PostHog(apiKey, { host, flushAt: 100, flushInterval: 50, disableGeoip: false })
  for (let i = offset; i < offset + count; i++) {
    const user = `demo-user-${i % 25}`
    if (i % 10 === 0) {
      client.identify({ distinctId: user, properties: { email: `${user}@example.com`, plan: i % 20 === 0 ? 'pro' : 'free' } })
    } else {
      client.capture({
        distinctId: user,
        event: i % 7 === 0 ? 'signed up' : '$pageview',
        properties: {
          $current_url: `https://example.com${PAGES[i % PAGES.length]}`,
          $browser: BROWSERS[i % BROWSERS.length],
          $ip: IPS[i % IPS.length],
          demo_sequence: i,
        },
      })
    }
  }
  await client.shutdown()
}
