import type { Queryable } from '../queryable'

/** An attachment without its contents: what a config view lists. */
export interface AttachmentSummary {
  plugin_config_id: number
  key: string
  file_name: string
  content_type: string
  size: number
}

export async function listAttachmentSummaries(db: Queryable, configIds: number[]): Promise<AttachmentSummary[]> {
  const { rows } = await db.query<AttachmentSummary>(
    `SELECT plugin_config_id, key, file_name, content_type, octet_length(contents) AS size
     FROM plugin_attachments WHERE plugin_config_id = ANY($1::int[]) ORDER BY key`,
    [configIds],
  )
  return rows
}
