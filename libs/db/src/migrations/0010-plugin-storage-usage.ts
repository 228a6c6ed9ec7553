/**
 * What each config's `meta.storage` rows hold (key and JSON text bytes, plus 64 per row for
 * Postgres's own per-row cost), kept by a trigger so every path that changes rows — a plugin's
 * writes and deletes, a config deleted with its rows — keeps it, and summed per team at each write
 * to hold the team's plugins to PLUGIN_TEAM_STORAGE_LIMIT_MB (libs/db plugin-storage). A row per
 * config, not per team: a config's delete cascades to its usage too.
 */
export const sql = /* sql */ `
-- Until the trigger exists: a row written by an older worker between the count and the trigger would be missed.
LOCK TABLE plugin_storage IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE plugin_storage_usage (
  plugin_config_id integer PRIMARY KEY REFERENCES plugin_configs(id) ON DELETE CASCADE,
  bytes bigint NOT NULL
);

INSERT INTO plugin_storage_usage (plugin_config_id, bytes)
SELECT plugin_config_id, sum(octet_length(key) + octet_length(value::text) + 64) FROM plugin_storage GROUP BY plugin_config_id;

CREATE FUNCTION plugin_storage_usage_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE plugin_storage_usage SET bytes = bytes - (octet_length(OLD.key) + octet_length(OLD.value::text) + 64)
    WHERE plugin_config_id = OLD.plugin_config_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO plugin_storage_usage (plugin_config_id, bytes) VALUES (NEW.plugin_config_id, octet_length(NEW.key) + octet_length(NEW.value::text) + 64)
    ON CONFLICT (plugin_config_id) DO UPDATE SET bytes = plugin_storage_usage.bytes + EXCLUDED.bytes;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER plugin_storage_usage_count AFTER INSERT OR UPDATE OR DELETE ON plugin_storage
FOR EACH ROW EXECUTE FUNCTION plugin_storage_usage_count();
`
