import type { PublicJobSpec } from '../../api/types'

export function PublicJobsTable({ jobs }: { jobs: Record<string, PublicJobSpec> }) {
  return (
    <table class="table" data-testid="plugin-public-jobs">
      <thead>
        <tr>
          <th>Job</th>
          <th>Payload</th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(jobs).map(([name, spec]) => (
          <tr key={name}>
            <td>
              <code>{name}</code>
            </td>
            <td>
              {Object.entries(spec.payload ?? {}).map(([key, field]) => (
                <span key={key} class="chip">
                  {key}: {field.type ?? 'any'}
                  {field.required ? ' (required)' : ''}
                </span>
              ))}
              {Object.keys(spec.payload ?? {}).length === 0 && <span class="muted">none</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
