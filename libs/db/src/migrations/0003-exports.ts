/**
 * Exports: batches that could not be delivered (dead letters, kept until replayed and then kept as
 * history) and historical export runs, whose cursor lets an interrupted run resume where it stopped.
 */
export const sql = /* sql */ `
CREATE TABLE export_dead_letters (
  id bigserial PRIMARY KEY,
  -- The delivery job and attempt it came from: a job redelivered after a crash does not add it twice.
  job_key text NOT NULL UNIQUE,
  plugin_config_id integer NOT NULL REFERENCES plugin_configs(id) ON DELETE CASCADE,
  team_id integer NOT NULL,
  method text NOT NULL,
  events jsonb NOT NULL,
  event_count integer NOT NULL,
  error text NOT NULL,
  retry_error boolean NOT NULL,
  attempts integer NOT NULL,
  first_attempt_at timestamptz NOT NULL,
  last_attempt_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  replayed_at timestamptz
);
CREATE INDEX export_dead_letters_config ON export_dead_letters (plugin_config_id, created_at);

CREATE TABLE export_historical_runs (
  id serial PRIMARY KEY,
  plugin_config_id integer NOT NULL REFERENCES plugin_configs(id) ON DELETE CASCADE,
  team_id integer NOT NULL,
  range_from timestamptz NOT NULL,
  range_to timestamptz NOT NULL,
  batch_size integer NOT NULL,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
  total_events bigint NOT NULL,
  enqueued_events bigint NOT NULL DEFAULT 0,
  next_seq integer NOT NULL DEFAULT 0,
  -- Last event (timestamp, uuid) handed to the exporters; pages are read in that order.
  cursor_timestamp timestamptz,
  cursor_uuid uuid,
  -- A page being handed over: on resume exactly this page is handed over again (same job id).
  pending_end_timestamp timestamptz,
  pending_end_uuid uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE UNIQUE INDEX export_historical_runs_active ON export_historical_runs (plugin_config_id, range_from, range_to) WHERE status = 'running';
`
