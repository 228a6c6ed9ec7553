/**
 * What one `meta.storage` row counts for against PLUGIN_TEAM_STORAGE_LIMIT_MB — key and JSON text
 * bytes, plus 64 for Postgres's own per-row cost — defined once, for the usage trigger of 0010 and
 * the write statement's limit check (libs/db plugin-storage), which wrote the formula out three
 * times between them. IMMUTABLE and plain SQL, so Postgres inlines it: no call per row.
 */
export const sql = /* sql */ `
CREATE FUNCTION plugin_storage_row_bytes(key text, value jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT octet_length(key) + octet_length(value::text) + 64 $$;

CREATE OR REPLACE FUNCTION plugin_storage_usage_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE plugin_storage_usage SET bytes = bytes - plugin_storage_row_bytes(OLD.key, OLD.value)
    WHERE plugin_config_id = OLD.plugin_config_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO plugin_storage_usage (plugin_config_id, bytes) VALUES (NEW.plugin_config_id, plugin_storage_row_bytes(NEW.key, NEW.value))
    ON CONFLICT (plugin_config_id) DO UPDATE SET bytes = plugin_storage_usage.bytes + EXCLUDED.bytes;
  END IF;
  RETURN NULL;
END $$;
`
