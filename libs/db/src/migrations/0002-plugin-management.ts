/**
 * A plugin is identified by its plugin.json `name`: installing the same name again replaces the
 * source (a new version) instead of adding a second plugin. One config per plugin per team, as in
 * PostHog, so "the config of plugin X for team Y" is never ambiguous.
 */
export const sql = /* sql */ `
ALTER TABLE plugins ADD COLUMN version integer NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX plugins_name ON plugins (name);

CREATE TABLE plugin_versions (
  plugin_id integer NOT NULL REFERENCES plugins(id) ON DELETE CASCADE,
  version integer NOT NULL,
  content_hash text NOT NULL,
  plugin_json jsonb NOT NULL,
  source jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (plugin_id, version)
);

ALTER TABLE plugin_configs ADD COLUMN disabled_reason text;
CREATE UNIQUE INDEX plugin_configs_team_plugin ON plugin_configs (team_id, plugin_id);

-- "rows after id N" is how logs are paged and followed.
CREATE INDEX plugin_log_entries_config_id ON plugin_log_entries (plugin_config_id, id);
`
