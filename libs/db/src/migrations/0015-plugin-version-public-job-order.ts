/**
 * The names of plugin.json `publicJobs` in the order the plugin declares them: `plugin_json` is jsonb,
 * which keeps an object's keys in its own order (shortest first), so the admin UI offered some other
 * job than the first declared. NULL on versions installed before: their readers fall back to the
 * stored object's key order, as before. A nullable column without a default is a catalogue change
 * only (no rewrite, no scan), so it is safe on a live table.
 */
export const sql = /* sql */ `
ALTER TABLE plugin_versions ADD COLUMN public_job_order text[];
`
