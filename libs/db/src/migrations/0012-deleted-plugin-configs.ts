/**
 * Deleted configs whose Redis state (cursors, cache keys, queued plugin jobs, export buffer and
 * pending counts) is still to be dropped. A trigger records every delete, however it happens — a
 * config's, a plugin's (cascade), a team's (cascade), plain SQL — in the delete's own transaction, so
 * a Redis outage or a crash between the delete and the cleanup leaves the row, not keys no one
 * knows about (libs/management clean-deleted-configs.ts). Written only on deletes: no cost to writes.
 */
export const sql = /* sql */ `
CREATE TABLE deleted_plugin_configs (
  plugin_config_id integer PRIMARY KEY,
  team_id integer NOT NULL,
  plugin_id integer NOT NULL,
  deleted_at timestamptz NOT NULL DEFAULT now(),
  -- Set by the first cleanup that finished; the record is cleaned once more when its grace is over.
  cleaned_at timestamptz
);

CREATE FUNCTION deleted_plugin_configs_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO deleted_plugin_configs (plugin_config_id, team_id, plugin_id) VALUES (OLD.id, OLD.team_id, OLD.plugin_id)
  ON CONFLICT (plugin_config_id) DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER plugin_configs_deleted AFTER DELETE ON plugin_configs FOR EACH ROW EXECUTE FUNCTION deleted_plugin_configs_record();
`
