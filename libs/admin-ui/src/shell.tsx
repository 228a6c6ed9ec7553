import { useMemo, useState } from 'preact/hooks'
import { api } from './api/endpoints'
import type { Me } from './api/types'
import { ErrorMessage } from './components/error-message'
import { Header } from './components/header'
import { Loading } from './components/loading'
import { useLocation } from './lib/router'
import { storedTeamId, storeTeamId } from './lib/session'
import { Session, SessionContext } from './lib/session-context'
import { useAsync } from './lib/use-async'
import { Routes } from './routes'

interface Props {
  me: Me
  onLogout: () => void
}

/** The logged-in frame: which team pages act on, the header, and the page for the current hash. */
export function Shell({ me, onLogout }: Props) {
  const location = useLocation()
  const operator = me.kind === 'operator'
  const teams = useAsync(() => (operator ? api.teams() : Promise.resolve([])), [operator])
  const [picked, setPicked] = useState<number | null>(storedTeamId)

  const session = useMemo<Session>(() => {
    const list = teams.data ?? []
    let teamId: number | null
    if (me.kind === 'team') teamId = me.team_id
    else teamId = list.some((t) => t.id === picked) ? picked : (list[0]?.id ?? null)
    return {
      me,
      teamId,
      teams: list,
      selectTeam: (id: number) => {
        storeTeamId(id)
        setPicked(id)
      },
      logout: onLogout,
    }
  }, [me, teams.data, picked, onLogout])

  // The team list decides which team every page shows: nothing renders before it is known.
  if (operator && teams.data === undefined && teams.error === null) return <Loading what="teams" />
  return (
    <SessionContext.Provider value={session}>
      <Header section={location.segments[0]} />
      <main class="content">
        <ErrorMessage error={teams.error} />
        <Routes location={location} />
      </main>
    </SessionContext.Provider>
  )
}
