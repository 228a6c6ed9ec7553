import { useState } from 'preact/hooks'
import type { PluginConfigView, ProcessingCounts } from '../../api/types'
import { Badge } from '../../components/badge'
import { href } from '../../lib/router'
import { ConfigHealth } from './config-health'

interface Props {
  config: PluginConfigView
  position: number
  /** The last hour of its processEvent; undefined until loaded. */
  health: ProcessingCounts | undefined
  last: boolean
  dragging: boolean
  onDragStart: () => void
  onDragEnd: () => void
  onDrop: () => void
  onMove: (delta: -1 | 1) => void
  onToggle: () => Promise<void>
  onDelete: () => Promise<void>
}

export function ConfigRow({ config, position, health, last, dragging, onDragStart, onDragEnd, onDrop, onMove, onToggle, onDelete }: Props) {
  const [over, setOver] = useState(false)
  const [confirming, setConfirming] = useState(false)
  const [busy, setBusy] = useState(false)
  // The box shows the click at once: snapping back until the server answers would look like a refusal.
  const [wanted, setWanted] = useState<boolean | null>(null)
  const id = config.id

  const act = async (action: () => Promise<void>) => {
    setBusy(true)
    await action()
    setBusy(false)
  }

  return (
    <tr
      class={`${dragging ? 'dragging' : ''} ${over ? 'drop-target' : ''}`}
      draggable
      data-order={config.order}
      data-testid={`config-row-${id}`}
      onDragStart={(e) => {
        // Firefox starts a drag only when some data is set.
        e.dataTransfer?.setData('text/plain', String(id))
        if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move'
        onDragStart()
      }}
      onDragEnd={onDragEnd}
      onDragOver={(e) => {
        // Without preventDefault the row is not a drop target.
        e.preventDefault()
        setOver(true)
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault()
        setOver(false)
        onDrop()
      }}
    >
      <td class="handle" title="Drag to reorder" aria-hidden="true">
        ⋮⋮
      </td>
      <td class="num">{position + 1}</td>
      <td>
        <a href={href(`/configs/${id}`)}>{config.plugin_name}</a>
        <span class="muted"> #{id}</span>{' '}
        <span
          class="muted small"
          data-testid={`config-version-${id}`}
          title={config.pinned_version === null ? "follows the plugin's current version" : 'pinned'}
        >
          v{config.plugin_version}
          {config.pinned_version !== null && ' (pinned)'}
        </span>
      </td>
      <td>
        {config.enabled ? <Badge tone="ok">enabled</Badge> : <Badge tone="muted">disabled</Badge>}
        {config.disabled_reason && <span class="muted small"> {config.disabled_reason}</span>}
        {config.error !== null && config.error !== undefined && <Badge tone="error">error</Badge>}
      </td>
      <td>
        <ConfigHealth configId={id} counts={health} />
      </td>
      <td>
        <label class="switch">
          <input
            type="checkbox"
            checked={wanted ?? config.enabled}
            disabled={busy}
            onChange={(e) => {
              setWanted(e.currentTarget.checked)
              void act(onToggle).finally(() => setWanted(null))
            }}
            data-testid={`config-toggle-${id}`}
          />
          <span class="sr-only">Enabled: {config.plugin_name}</span>
        </label>
      </td>
      <td class="actions-col">
        <button
          type="button"
          class="icon"
          title="Move up"
          aria-label={`Move ${config.plugin_name} up`}
          disabled={position === 0}
          onClick={() => onMove(-1)}
          data-testid={`config-up-${id}`}
        >
          ↑
        </button>
        <button
          type="button"
          class="icon"
          title="Move down"
          aria-label={`Move ${config.plugin_name} down`}
          disabled={last}
          onClick={() => onMove(1)}
          data-testid={`config-down-${id}`}
        >
          ↓
        </button>
        <a class="button small" href={href(`/configs/${id}`)} data-testid={`config-open-${id}`}>
          Open
        </a>
        {confirming ? (
          <span class="confirm">
            Delete?
            <button type="button" class="danger small" disabled={busy} onClick={() => void act(onDelete)} data-testid={`config-delete-confirm-${id}`}>
              Yes, delete
            </button>
            <button type="button" class="small" onClick={() => setConfirming(false)} data-testid={`config-delete-cancel-${id}`}>
              Cancel
            </button>
          </span>
        ) : (
          <button type="button" class="small" onClick={() => setConfirming(true)} data-testid={`config-delete-${id}`}>
            Delete
          </button>
        )}
      </td>
    </tr>
  )
}
