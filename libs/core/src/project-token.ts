/** PostHog's capture refuses longer tokens before any lookup; project keys are far shorter. */
export const MAX_PROJECT_TOKEN_LENGTH = 64

/**
 * Why capture refuses this project token (already trimmed, not empty), or null: the shape checks of
 * PostHog capture's `validate_token`. Team creation applies them too, so no team gets a token
 * capture would never accept.
 */
export function projectTokenProblem(token: string): string | null {
  if (token.length > MAX_PROJECT_TOKEN_LENGTH) return `longer than ${MAX_PROJECT_TOKEN_LENGTH} characters`
  if (!/^[\x01-\x7f]*$/.test(token)) return 'must be ASCII without null bytes'
  if (token.startsWith('phx_')) return 'a personal API key (phx_) cannot capture events, use the project API key'
  return null
}

/** Why a token given for a new team would never let capture find it, or null. */
export function newTeamTokenProblem(token: string): string | null {
  if (token.trim() === '') return 'must not be empty'
  // Capture trims the token it receives (a pasted key's stray newline), so this one would never match.
  if (token !== token.trim()) return 'must not begin or end with whitespace'
  return projectTokenProblem(token)
}
