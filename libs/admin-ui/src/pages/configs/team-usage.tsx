import { Fragment } from 'preact'
import { api } from '../../api/endpoints'
import type { TeamUsage } from '../../api/types'
import { ErrorMessage } from '../../components/error-message'
import { formatBytes } from '../../lib/format'
import { useAsync } from '../../lib/use-async'

const USAGE_REFRESH_MS = 30_000

interface Meter {
  key: string
  label: string
  used: number
  limit: number
  /** "12.0 MB of 256.0 MB" */
  text: string
  /** The variable an operator raises when a team needs more. */
  variable: string
}

function meters(u: TeamUsage): Meter[] {
  const events = (n: number) => n.toLocaleString('en-US')
  return [
    {
      key: 'redis',
      label: `Redis: cache, cursors and pending jobs (${u.redis.keys_and_jobs} keys and jobs)`,
      used: u.redis.bytes,
      limit: u.redis.limit_bytes,
      text: `${formatBytes(u.redis.bytes)} of ${formatBytes(u.redis.limit_bytes)}`,
      variable: 'PLUGIN_TEAM_REDIS_LIMIT_MB',
    },
    {
      key: 'storage',
      label: 'meta.storage',
      used: u.storage.bytes,
      limit: u.storage.limit_bytes,
      text: `${formatBytes(u.storage.bytes)} of ${formatBytes(u.storage.limit_bytes)}`,
      variable: 'PLUGIN_TEAM_STORAGE_LIMIT_MB',
    },
    {
      key: 'exports',
      label: 'Export deliveries waiting',
      used: u.exports.pending_events,
      limit: u.exports.limit_events,
      text: `${events(u.exports.pending_events)} of ${events(u.exports.limit_events)} events`,
      variable: 'EXPORT_TEAM_MAX_PENDING_EVENTS',
    },
  ]
}

/**
 * What the team's plugins hold in the stores every team shares, against the limits one team gets:
 * past one, writes are refused (Redis, storage) or batches become dead letters (exports), so a team
 * sees it coming here before its plugins' logs say so.
 */
export function TeamUsagePanel({ teamId }: { teamId: number }) {
  const usage = useAsync(() => api.teamUsage(teamId), [teamId], USAGE_REFRESH_MS)
  if (usage.data === undefined) return <ErrorMessage error={usage.error} testid="team-usage-error" />
  return (
    <div class="card team-usage" data-testid="team-usage">
      <h2>What this team's plugins hold</h2>
      <div class="fields">
        {meters(usage.data).map((m) => (
          <Fragment key={m.key}>
            <span>{m.label}</span>
            <span class="progress" title={`limit: ${m.variable}`}>
              <meter min={0} max={Math.max(m.limit, 1)} value={m.used} high={m.limit * 0.8} optimum={0} />
              <span data-testid={`team-usage-${m.key}`}>{m.text}</span>
            </span>
          </Fragment>
        ))}
      </div>
      <p class="muted small">
        Past a limit, plugin writes are refused and new export batches become dead letters (replayable, as room comes back); an operator sets the limits.
      </p>
    </div>
  )
}
