/**
 * Historical exports become durable exporter jobs (one BullMQ job per run, page by page). A run is
 * `queued` until an exporter counts it, `running` while pages are handed over, then `done` or
 * `cancelled`. The snapshot bound fixes which events belong to the run when it is started: events
 * stored later (created_at at or after it) are not exported by it and not counted in its total, so
 * progress never passes 100 %. Runs already running keep their total and go on under an exporter.
 */
export const sql = /* sql */ `
ALTER TABLE export_historical_runs DROP CONSTRAINT export_historical_runs_status_check;
ALTER TABLE export_historical_runs ADD CONSTRAINT export_historical_runs_status_check
  CHECK (status IN ('queued', 'running', 'done', 'cancelled'));
ALTER TABLE export_historical_runs ALTER COLUMN status SET DEFAULT 'queued';
ALTER TABLE export_historical_runs ALTER COLUMN total_events DROP NOT NULL;
ALTER TABLE export_historical_runs
  ADD COLUMN max_in_flight integer NOT NULL DEFAULT 4,
  ADD COLUMN snapshot_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN started_at timestamptz,
  ADD COLUMN cancelled_at timestamptz,
  -- Events of the range the config's exportEventsToIgnore leaves out: part of the total, never exported.
  ADD COLUMN skipped_events bigint NOT NULL DEFAULT 0,
  -- Final counts, copied from the exporters' live counters (Redis) when the run ends.
  ADD COLUMN exported_events bigint,
  ADD COLUMN failed_events bigint,
  ADD COLUMN last_error text,
  ADD COLUMN last_error_at timestamptz;
UPDATE export_historical_runs SET started_at = created_at WHERE status = 'running';
DROP INDEX export_historical_runs_active;
CREATE UNIQUE INDEX export_historical_runs_active ON export_historical_runs (plugin_config_id, range_from, range_to)
  WHERE status IN ('queued', 'running');
`
