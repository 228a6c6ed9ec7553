/**
 * Team-scoped admin API tokens. Only a sha256 of each token is stored: a database dump or backup
 * does not hand out working tokens, and a request is matched by hashing what it presents.
 */
export const sql = /* sql */ `
CREATE TABLE team_admin_tokens (
  id serial PRIMARY KEY,
  team_id integer NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name text NOT NULL DEFAULT '',
  -- Hex sha256 of the whole token (pst_...).
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX team_admin_tokens_team ON team_admin_tokens (team_id, id);
`
