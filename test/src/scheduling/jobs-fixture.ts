import type { Pool } from 'pg'

export interface RanJob {
  name: string
  payload: Record<string, unknown>
  at: number
}

/** What the scheduling-jobs fixture wrote to meta.storage (Postgres) from inside the sandbox. */
export async function ranJobs(pool: Pool, pluginConfigId: number): Promise<RanJob[]> {
  const { rows } = await pool.query<{ value: RanJob }>("SELECT value FROM plugin_storage WHERE plugin_config_id = $1 AND key LIKE 'ran-%'", [pluginConfigId])
  return rows.map((r) => r.value).sort((a, b) => a.at - b.at)
}
