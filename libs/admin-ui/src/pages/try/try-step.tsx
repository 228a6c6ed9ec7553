import type { TryStep } from '../../api/types'
import { Badge } from '../../components/badge'
import { JsonBlock } from '../../components/json-block'
import { formatDuration } from '../../lib/format'

function argsText(args: unknown[]): string {
  return args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(', ')
}

/** One plugin method the run called: what it logged, and every host call it made (performed or only recorded). */
export function TryStepView({ step }: { step: TryStep }) {
  return (
    <li class="card try-step" data-testid="try-step" data-method={step.method}>
      <div class="card-head">
        <h3>
          {step.plugin} <code>{step.method}</code>
          {step.plugin_config_id !== null && <span class="muted"> config #{step.plugin_config_id}</span>}
        </h3>
        <span class="muted">{formatDuration(step.duration_ms)}</span>
      </div>
      {step.error && (
        <p class="message message-error" data-testid="try-step-error">
          {step.error}
        </p>
      )}
      {step.output !== undefined && (
        <details class="raw">
          <summary>What this step returned</summary>
          <JsonBlock value={step.output} />
        </details>
      )}
      <h4>Logs</h4>
      {step.logs.length === 0 ? (
        <p class="muted small">Nothing logged.</p>
      ) : (
        <ul class="try-logs" data-testid="try-logs">
          {step.logs.map((log, i) => (
            <li key={i}>
              <Badge tone={log.level === 'error' ? 'error' : log.level === 'warn' ? 'warn' : 'muted'}>{log.level}</Badge> <span>{log.message}</span>
            </li>
          ))}
        </ul>
      )}
      <h4>Host calls</h4>
      {step.host_calls.length === 0 ? (
        <p class="muted small">No calls to cache, storage, fetch, capture, jobs, metrics or geoip.</p>
      ) : (
        <table class="table compact" data-testid="try-host-calls">
          <thead>
            <tr>
              <th>Call</th>
              <th>Arguments</th>
              <th>Performed</th>
            </tr>
          </thead>
          <tbody>
            {step.host_calls.map((call, i) => (
              <tr key={i} data-testid="try-host-call" data-call={call.call} data-performed={String(call.performed)}>
                <td>
                  <code>{call.call}</code>
                </td>
                <td class="args">
                  <code>{argsText(call.args)}</code>
                </td>
                <td>{call.performed ? <Badge tone="ok">performed</Badge> : <Badge tone="muted">not performed (recorded)</Badge>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </li>
  )
}
