import type { JSX } from 'preact'
import { NoTeam } from './components/no-team'
import type { Location } from './lib/router'
import { useSession } from './lib/session-context'
import { ConfigDetailPage } from './pages/config-detail/config-detail-page'
import { ConfigsPage } from './pages/configs/configs-page'
import { NewConfigPage } from './pages/configs/new-config-page'
import { PluginDetailPage } from './pages/plugins/plugin-detail-page'
import { PluginsPage } from './pages/plugins/plugins-page'
import { TryPage } from './pages/try/try-page'

/**
 * The page map:
 *   #/plugins                  installed plugins, install from an archive (operator)
 *   #/plugins/:id              one plugin: plugin.json, versions
 *   #/configs                  the team's configs in processEvent order
 *   #/configs/new?plugin=:id   configure a plugin for the team
 *   #/configs/:id/:tab         one config: settings | status | logs | jobs | exports
 *   #/try?config=:id           run an event through a config, a plugin or the whole chain
 */
export function Routes({ location }: { location: Location }) {
  const { teamId } = useSession()
  const [section, id, tab] = location.segments
  const needsTeam = (page: (teamId: number) => JSX.Element) => (teamId === null ? <NoTeam /> : page(teamId))

  switch (section) {
    case 'plugins':
      return id === undefined ? <PluginsPage /> : <PluginDetailPage key={id} pluginId={id} />
    case 'try':
      return needsTeam((team) => <TryPage key={team} teamId={team} initialConfigId={location.query.get('config')} />)
    case undefined:
    case 'configs':
      if (id === 'new') return needsTeam((team) => <NewConfigPage key={team} teamId={team} pluginId={location.query.get('plugin')} />)
      if (id !== undefined) return <ConfigDetailPage key={id} configId={Number(id)} tab={tab ?? 'settings'} justCreated={location.query.has('created')} />
      return needsTeam((team) => <ConfigsPage key={team} teamId={team} />)
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            No page at <code>{window.location.hash}</code>.
          </p>
        </section>
      )
  }
}
