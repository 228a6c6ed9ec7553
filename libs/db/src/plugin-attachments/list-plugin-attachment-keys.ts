import type { Queryable } from '../queryable'

export async function listPluginAttachmentKeys(db: Queryable, configId: number): Promise<string[]> {
  const { rows } = await db.query<{ key: string }>('SELECT key FROM plugin_attachments WHERE plugin_config_id = $1', [configId])
  return rows.map((r) => r.key)
}
