import { createHash, randomBytes } from 'node:crypto'

/** Distinct from project API tokens (`phc_`), so neither kind is mistaken for the other. */
export const TEAM_ADMIN_TOKEN_PREFIX = 'pst_'

export function generateTeamAdminToken(): string {
  return `${TEAM_ADMIN_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
}

/** The tokens are 256 random bits, so a plain (unsalted) sha256 is enough and allows lookup by hash. */
export function hashTeamAdminToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}
