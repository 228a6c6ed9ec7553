/**
 * Deleted teams whose rows without a foreign key (events, plugin log rows) and Redis state
 * (accounting keys, cache keys, export counts, line of waiting jobs) are still to be dropped. A
 * trigger records every delete, however it happens — `team delete`, the admin API, plain SQL — in
 * the delete's own transaction, so a crash or a timeout halfway through a big team's events leaves
 * the row, and the scheduler's pass finishes the job (libs/management clean-deleted-teams.ts).
 */
export const sql = /* sql */ `
CREATE TABLE deleted_teams (
  team_id integer PRIMARY KEY,
  name text NOT NULL,
  deleted_at timestamptz NOT NULL DEFAULT now(),
  -- Set by the first cleanup that finished; the record is cleaned once more when its grace is over.
  cleaned_at timestamptz
);

CREATE FUNCTION deleted_teams_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO deleted_teams (team_id, name) VALUES (OLD.id, OLD.name) ON CONFLICT (team_id) DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER teams_deleted AFTER DELETE ON teams FOR EACH ROW EXECUTE FUNCTION deleted_teams_record();
`
