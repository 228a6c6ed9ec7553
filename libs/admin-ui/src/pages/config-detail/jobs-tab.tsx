import { useState } from 'preact/hooks'
import { api } from '../../api/endpoints'
import { ErrorMessage } from '../../components/error-message'
import { Loading } from '../../components/loading'
import { useAsync } from '../../lib/use-async'
import { JobTriggerForm } from './job-trigger-form'
import { JobsTable } from './jobs-table'

export function JobsTab({ configId }: { configId: number }) {
  const jobs = useAsync(() => api.jobs(configId), [configId], 2000)
  const [picked, setPicked] = useState<string | null>(null)
  if (jobs.data === undefined) return jobs.error ? <ErrorMessage error={jobs.error} /> : <Loading what="jobs" />
  const publicJobs = jobs.data.public_jobs
  // plugin.json's order: the first declared job is the one preselected.
  const names = jobs.data.public_job_order
  const name = picked !== null && names.includes(picked) ? picked : names[0]

  return (
    <div class="stack">
      <div class="card">
        <h2>Run a job</h2>
        {name === undefined ? (
          <p class="empty">The plugin declares no publicJobs in plugin.json.</p>
        ) : (
          <>
            <label class="inline-field">
              <span>Job</span>
              <select value={name} onChange={(e) => setPicked(e.currentTarget.value)} data-testid="job-select">
                {names.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
            <JobTriggerForm key={name} configId={configId} name={name} spec={publicJobs[name]} onTriggered={jobs.reload} />
          </>
        )}
      </div>
      <div class="card">
        <h2>Recent jobs</h2>
        <ErrorMessage error={jobs.error} />
        <JobsTable jobs={jobs.data.jobs} />
      </div>
    </div>
  )
}
