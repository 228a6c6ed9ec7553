/**
 * A config may pin a plugin version; without a pin it runs the plugin's current version, which is
 * `plugins.version` (the row in `plugins` holds that version's files). Installing makes the new
 * version current; rolling back makes an earlier one current again, so `plugins.version` is no
 * longer always the highest: the next install numbers after the highest stored version.
 *
 * The foreign key keeps a pin pointing at a stored version of the config's own plugin.
 */
export const sql = /* sql */ `
-- Plugins installed before 0002 have no version row; pins and rollbacks read versions from that table.
INSERT INTO plugin_versions (plugin_id, version, content_hash, plugin_json, source, created_at)
SELECT p.id, p.version, p.content_hash, p.plugin_json, p.source, p.updated_at FROM plugins p
WHERE NOT EXISTS (SELECT 1 FROM plugin_versions v WHERE v.plugin_id = p.id AND v.version = p.version);

ALTER TABLE plugin_configs ADD COLUMN pinned_version integer;
ALTER TABLE plugin_configs ADD CONSTRAINT plugin_configs_pinned_version
  FOREIGN KEY (plugin_id, pinned_version) REFERENCES plugin_versions (plugin_id, version);
`
