/**
 * Events are partitioned by their own `timestamp`, one partition per UTC day (events_pYYYYMMDD),
 * so retention drops whole partitions instead of deleting rows. Postgres wants the partition key in
 * every unique constraint, so the key becomes (team_id, uuid, timestamp); insertEvents keeps ingest
 * idempotent by (team_id, uuid) by also skipping an event whose uuid its team already stored with a
 * timestamp within a day of its own (libs/db/README.md).
 *
 * The existing table is not copied: it is attached as the partition `events_legacy` for every
 * timestamp before tomorrow (UTC), so an install with a large table migrates in the time of two
 * scans (rows dated later, the range check) and one index build (the new key), not a rewrite. Its rows dated tomorrow
 * or later (few: clients with clocks ahead) are moved to the new partitions. A new install (empty
 * table) gets no legacy partition. `events_default` takes any timestamp no partition covers (1999,
 * 2100), so an insert never fails for lack of a partition; the scheduler creates the daily
 * partitions ahead and moves such rows into a partition when it creates that day's.
 */
export const sql = /* sql */ `
ALTER TABLE events RENAME TO events_legacy;
-- A table has one primary key: attaching builds the new one, (team_id, uuid, timestamp), in its place.
ALTER TABLE events_legacy DROP CONSTRAINT events_pkey;
ALTER INDEX events_team_timestamp RENAME TO events_legacy_team_timestamp;

CREATE TABLE events (
  uuid uuid NOT NULL,
  team_id integer NOT NULL,
  event text NOT NULL,
  distinct_id text NOT NULL,
  properties jsonb NOT NULL DEFAULT '{}',
  timestamp timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  ip text,
  site_url text NOT NULL DEFAULT '',
  CONSTRAINT events_pkey PRIMARY KEY (team_id, uuid, timestamp)
) PARTITION BY RANGE (timestamp);
-- Historical exports and counts read a team's events by time.
CREATE INDEX events_team_timestamp ON events (team_id, timestamp);

DO $$
DECLARE
  today timestamptz := date_trunc('day', now(), 'UTC');
  first_day timestamptz := today;
  day timestamptz;
BEGIN
  CREATE TEMP TABLE events_moving ON COMMIT DROP AS SELECT * FROM events_legacy WHERE timestamp >= today + interval '1 day';
  IF EXISTS (SELECT 1 FROM events_legacy WHERE timestamp < today + interval '1 day') THEN
    DELETE FROM events_legacy WHERE timestamp >= today + interval '1 day';
    EXECUTE format('ALTER TABLE events ATTACH PARTITION events_legacy FOR VALUES FROM (MINVALUE) TO (%L)', today + interval '1 day');
    first_day := today + interval '1 day';
  ELSE
    DROP TABLE events_legacy;
  END IF;
  day := first_day;
  WHILE day <= today + interval '7 days' LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
      'events_p' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD'), day, day + interval '1 day');
    day := day + interval '1 day';
  END LOOP;
  CREATE TABLE events_default PARTITION OF events DEFAULT;
  INSERT INTO events SELECT * FROM events_moving;
END $$;
`
