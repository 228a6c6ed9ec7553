import { LOG_LEVELS, LOG_SOURCES } from '../../api/types'

export interface LogFilterState {
  levels: string[]
  sources: string[]
  search: string
  follow: boolean
}

interface Props {
  value: LogFilterState
  onChange: (value: LogFilterState) => void
}

function toggled(list: string[], item: string, on: boolean): string[] {
  return on ? [...list.filter((x) => x !== item), item] : list.filter((x) => x !== item)
}

export function LogFilters({ value, onChange }: Props) {
  return (
    <div class="log-filters">
      <fieldset class="checks" data-testid="logs-level">
        <legend>Level</legend>
        {LOG_LEVELS.map((level) => (
          <label key={level} class="checkbox">
            <input
              type="checkbox"
              checked={value.levels.includes(level)}
              onChange={(e) => onChange({ ...value, levels: toggled(value.levels, level, e.currentTarget.checked) })}
              data-testid={`logs-level-${level}`}
            />
            {level}
          </label>
        ))}
      </fieldset>
      <fieldset class="checks" data-testid="logs-source">
        <legend>Source</legend>
        {LOG_SOURCES.map((source) => (
          <label key={source} class="checkbox">
            <input
              type="checkbox"
              checked={value.sources.includes(source)}
              onChange={(e) => onChange({ ...value, sources: toggled(value.sources, source, e.currentTarget.checked) })}
              data-testid={`logs-source-${source}`}
            />
            {source}
          </label>
        ))}
      </fieldset>
      <label class="search">
        <span>Search</span>
        <input
          type="search"
          placeholder="text in the message"
          value={value.search}
          onInput={(e) => onChange({ ...value, search: e.currentTarget.value })}
          data-testid="logs-search"
        />
      </label>
      <label class="checkbox follow">
        <input type="checkbox" checked={value.follow} onChange={(e) => onChange({ ...value, follow: e.currentTarget.checked })} data-testid="logs-follow" />
        Follow
      </label>
    </div>
  )
}
