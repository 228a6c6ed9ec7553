import type { ConfigStatus } from '../../api/types'
import { Badge } from '../../components/badge'
import { formatTime } from '../../lib/format'

/**
 * The config on the workers: ready, setupPlugin retrying (which attempt, when next), failed (its
 * plugin could not be loaded: which attempt, when next), or disabled (why).
 */
export function SetupState({ status }: { status: ConfigStatus }) {
  const { setup } = status
  const state = !status.config.enabled && setup.status !== 'failed' ? 'disabled' : setup.status
  let detail = ''
  if (state === 'retrying') detail = `attempt ${setup.attempts}, next attempt ${formatTime(setup.next_attempt_at)}`
  else if (state === 'failed')
    detail =
      setup.next_attempt_at === null
        ? `after ${setup.attempts} attempt${setup.attempts === 1 ? '' : 's'}`
        : `to load, attempt ${setup.attempts}, next attempt ${formatTime(setup.next_attempt_at)}`
  else if (state === 'disabled') detail = status.disabled_reason ?? status.config.disabled_reason ?? 'disabled by a user'
  return (
    <div class="setup-state">
      <p data-testid="status-setup" data-state={state}>
        <Badge state={state} />
        {detail && <span class="muted"> {detail}</span>}
      </p>
      {setup.last_error && (
        <p class="message message-error" data-testid="status-setup-error">
          {state === 'failed' ? 'loading the plugin' : 'setupPlugin'}: {setup.last_error}
        </p>
      )}
      <p class="muted small">Updated {formatTime(setup.updated_at)}</p>
    </div>
  )
}
