export const sql = /* sql */ `
CREATE TABLE teams (
  id serial PRIMARY KEY,
  name text NOT NULL,
  api_token text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plugins (
  id serial PRIMARY KEY,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  url text,
  plugin_json jsonb NOT NULL,
  config_schema jsonb NOT NULL DEFAULT '[]',
  source jsonb NOT NULL DEFAULT '{}',
  content_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plugin_configs (
  id serial PRIMARY KEY,
  team_id integer NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  plugin_id integer NOT NULL REFERENCES plugins(id) ON DELETE CASCADE,
  enabled boolean NOT NULL DEFAULT false,
  "order" integer NOT NULL DEFAULT 0,
  config jsonb NOT NULL DEFAULT '{}',
  error jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plugin_configs_team ON plugin_configs (team_id, "order");

CREATE TABLE plugin_attachments (
  id serial PRIMARY KEY,
  plugin_config_id integer NOT NULL REFERENCES plugin_configs(id) ON DELETE CASCADE,
  key text NOT NULL,
  content_type text NOT NULL,
  file_name text NOT NULL,
  contents bytea NOT NULL,
  UNIQUE (plugin_config_id, key)
);

CREATE TABLE plugin_storage (
  plugin_config_id integer NOT NULL REFERENCES plugin_configs(id) ON DELETE CASCADE,
  key text NOT NULL,
  value jsonb NOT NULL,
  PRIMARY KEY (plugin_config_id, key)
);

CREATE TABLE plugin_log_entries (
  id bigserial PRIMARY KEY,
  team_id integer NOT NULL,
  plugin_id integer NOT NULL,
  plugin_config_id integer NOT NULL,
  timestamp timestamptz NOT NULL DEFAULT now(),
  source text NOT NULL CHECK (source IN ('SYSTEM', 'PLUGIN', 'CONSOLE')),
  type text NOT NULL CHECK (type IN ('DEBUG', 'LOG', 'INFO', 'WARN', 'ERROR')),
  message text NOT NULL,
  instance_id text NOT NULL
);
CREATE INDEX plugin_log_entries_config_time ON plugin_log_entries (plugin_config_id, timestamp);

CREATE TABLE events (
  uuid uuid PRIMARY KEY,
  team_id integer NOT NULL,
  event text NOT NULL,
  distinct_id text NOT NULL,
  properties jsonb NOT NULL DEFAULT '{}',
  timestamp timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  ip text,
  site_url text NOT NULL DEFAULT ''
);
CREATE INDEX events_team_timestamp ON events (team_id, timestamp);
`
