/**
 * An event's uuid comes from the client and is unique within its team only: as the primary key
 * alone, team B sending a uuid team A had used got 200 and its event silently never stored. The key
 * becomes (team_id, uuid). Existing rows are all distinct by uuid, so they all stay. Building the
 * new index locks the table for as long as that takes (proportional to its size).
 */
export const sql = /* sql */ `
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (team_id, uuid);
`
