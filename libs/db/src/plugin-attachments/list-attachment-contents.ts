import type { Pool } from 'pg'

export interface AttachmentContentsRecord {
  plugin_config_id: number
  key: string
  contents: Buffer
}

/** The contents of the named attachments of several configs at once (their secret fields, to scrub what their plugins write). */
export async function listAttachmentContents(pool: Pool, wanted: readonly { pluginConfigId: number; key: string }[]): Promise<AttachmentContentsRecord[]> {
  if (wanted.length === 0) return []
  const { rows } = await pool.query<AttachmentContentsRecord>(
    `SELECT a.plugin_config_id, a.key, a.contents
       FROM plugin_attachments a
       JOIN unnest($1::int[], $2::text[]) AS w(plugin_config_id, key) ON a.plugin_config_id = w.plugin_config_id AND a.key = w.key`,
    [wanted.map((w) => w.pluginConfigId), wanted.map((w) => w.key)],
  )
  return rows
}
