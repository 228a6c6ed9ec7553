/**
 * What each plugin version exports (methods, jobs, publicJobs, whether it buffers exports), so the
 * roles that only route work read a row instead of loading the plugin. NULL: not learned yet. A
 * migration cannot learn it (that takes evaluating the plugin, which SQL cannot do and libs/db must
 * not reach up to plugin-vm for): versions installed before this one are learned by the first
 * process that loads them (libs/plugin-runtime README, "Capabilities"), which then records them here.
 */
export const sql = /* sql */ `
ALTER TABLE plugin_versions ADD COLUMN capabilities jsonb;
`
