import type { JobView } from '../../api/types'
import { Badge } from '../../components/badge'
import { formatDuration, formatTime } from '../../lib/format'

export function JobsTable({ jobs }: { jobs: JobView[] }) {
  if (jobs.length === 0) return <p class="empty">No jobs yet.</p>
  return (
    <table class="table">
      <thead>
        <tr>
          <th>Job</th>
          <th>Payload</th>
          <th>State</th>
          <th class="num">Attempts</th>
          <th>Enqueued</th>
          <th class="num">Duration</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <tr key={job.id} data-testid="job-row" data-name={job.name} data-state={job.state}>
            <td>
              <code>{job.name}</code>
            </td>
            <td class="args">
              <code>{job.payload === null || job.payload === undefined ? '' : JSON.stringify(job.payload)}</code>
            </td>
            <td>
              <Badge state={job.state} />
            </td>
            <td class="num">{job.attempts ?? '—'}</td>
            <td>{formatTime(job.enqueued_at)}</td>
            <td class="num">{formatDuration(job.duration_ms)}</td>
            <td class="error-text">{job.error ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
