import { href } from '../lib/router'
import { isOperator, useSession } from '../lib/session-context'

const NAV = [
  { path: '/plugins', label: 'Plugins', testid: 'nav-plugins' },
  { path: '/configs', label: 'Configs', testid: 'nav-configs' },
  { path: '/try', label: 'Try it', testid: 'nav-try' },
]

export function Header({ section }: { section: string | undefined }) {
  const session = useSession()
  const { me } = session
  return (
    <header class="topbar">
      <a class="brand" href={href('/configs')}>
        Plugin server
      </a>
      <nav class="nav">
        {NAV.map((item) => (
          <a key={item.path} href={href(item.path)} class={`/${section ?? ''}` === item.path ? 'active' : ''} data-testid={item.testid}>
            {item.label}
          </a>
        ))}
      </nav>
      <div class="topbar-end">
        {isOperator(session) ? (
          <label class="team-picker">
            <span>Team</span>
            <select
              value={session.teamId === null ? '' : String(session.teamId)}
              onChange={(e) => session.selectTeam(Number(e.currentTarget.value))}
              disabled={session.teams.length === 0}
              data-testid="team-select"
            >
              {session.teams.length === 0 && <option value="">no teams</option>}
              {session.teams.map((team) => (
                <option key={team.id} value={String(team.id)}>
                  {team.name} (#{team.id})
                </option>
              ))}
            </select>
          </label>
        ) : (
          me.kind === 'team' && (
            <span class="team-name" data-testid="team-name">
              {me.team_name} (#{me.team_id})
            </span>
          )
        )}
        <span class="badge badge-muted" data-testid="principal">
          {me.kind === 'operator' ? 'operator' : 'team token'}
        </span>
        <button type="button" class="link-button" onClick={session.logout} data-testid="logout">
          Log out
        </button>
      </div>
    </header>
  )
}
