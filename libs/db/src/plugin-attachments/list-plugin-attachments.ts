import type { Pool } from 'pg'

export interface PluginAttachmentRecord {
  key: string
  content_type: string
  file_name: string
  contents: Buffer
}

/** A config's attachments with their contents, as its plugin receives them. */
export async function listPluginAttachments(pool: Pool, pluginConfigId: number): Promise<PluginAttachmentRecord[]> {
  const { rows } = await pool.query<PluginAttachmentRecord>(
    'SELECT key, content_type, file_name, contents FROM plugin_attachments WHERE plugin_config_id = $1',
    [pluginConfigId],
  )
  return rows
}
