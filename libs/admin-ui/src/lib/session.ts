// sessionStorage rather than localStorage: the token is gone when the tab closes, and each tab
// can act as a different token.
const TOKEN_KEY = 'plugin-server-admin.token'
const TEAM_KEY = 'plugin-server-admin.team'

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token)
}

export function storedTeamId(): number | null {
  const value = Number(sessionStorage.getItem(TEAM_KEY))
  return Number.isInteger(value) && value > 0 ? value : null
}

export function storeTeamId(teamId: number): void {
  sessionStorage.setItem(TEAM_KEY, String(teamId))
}

export function clearSession(): void {
  sessionStorage.removeItem(TOKEN_KEY)
  sessionStorage.removeItem(TEAM_KEY)
}
