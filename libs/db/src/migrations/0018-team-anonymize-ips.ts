/**
 * A team's choice, as PostHog's `anonymize_ips`: capture keeps no client address for its events
 * (`ip` null, so no `$ip` property either). Off by default, as in PostHog. Adding a column with a
 * constant default rewrites nothing (Postgres 11+).
 */
export const sql = /* sql */ `
ALTER TABLE teams ADD COLUMN anonymize_ips boolean NOT NULL DEFAULT false;
`
