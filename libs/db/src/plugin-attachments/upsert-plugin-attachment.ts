import type { Queryable } from '../queryable'

export interface PluginAttachmentInput {
  key: string
  file_name: string
  content_type: string
  contents: Buffer
}

/** One attachment per config and key: a second upload under the same key replaces the first. */
export async function upsertPluginAttachment(db: Queryable, configId: number, a: PluginAttachmentInput): Promise<void> {
  await db.query(
    `INSERT INTO plugin_attachments (plugin_config_id, key, content_type, file_name, contents) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (plugin_config_id, key) DO UPDATE SET content_type = EXCLUDED.content_type, file_name = EXCLUDED.file_name, contents = EXCLUDED.contents`,
    [configId, a.key, a.content_type, a.file_name, a.contents],
  )
}
