import { createContext } from 'preact'
import { useContext } from 'preact/hooks'
import type { Me, Team } from '../api/types'

export interface Session {
  me: Me
  /** The team pages act on: a team token's own team, or the one the operator picked (null: no team exists yet). */
  teamId: number | null
  /** Every team, for the operator; empty for a team token. */
  teams: Team[]
  selectTeam: (teamId: number) => void
  logout: () => void
}

export const SessionContext = createContext<Session | null>(null)

export function useSession(): Session {
  const session = useContext(SessionContext)
  if (!session) throw new Error('useSession outside of a logged-in page')
  return session
}

export function isOperator(session: Session): boolean {
  return session.me.kind === 'operator'
}
