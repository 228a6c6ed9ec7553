import { useState } from 'preact/hooks'
import { api } from '../../api/endpoints'
import { Badge } from '../../components/badge'
import { archiveContentType } from '../../lib/files'
import { toApiError } from '../../lib/use-async'

interface Outcome {
  status: string
  text: string
}

/** Installs as soon as a file is picked: an archive with the same contents is reported as unchanged, so a repeat is harmless. */
export function PluginUpload({ onInstalled }: { onInstalled: () => void }) {
  const [busy, setBusy] = useState(false)
  const [outcome, setOutcome] = useState<Outcome | null>(null)

  const install = async (input: HTMLInputElement) => {
    const file = input.files?.[0]
    if (!file) return
    const contentType = archiveContentType(file)
    if (contentType === null) {
      setOutcome({ status: 'error', text: `${file.name} is neither a .zip nor a .tar.gz archive` })
      input.value = ''
      return
    }
    setBusy(true)
    setOutcome(null)
    try {
      const result = await api.installPlugin(file, contentType)
      setOutcome({ status: result.status, text: result.message })
      onInstalled()
    } catch (err) {
      setOutcome({ status: 'error', text: toApiError(err).message })
    } finally {
      setBusy(false)
      // The same file can be picked again after a fix.
      input.value = ''
    }
  }

  return (
    <div class="card upload">
      <label for="plugin-upload">
        <strong>Install or update a plugin</strong>
        <span class="help">A .zip or .tar.gz with plugin.json at its root or inside one top folder (the GitHub layout).</span>
      </label>
      <input
        id="plugin-upload"
        type="file"
        accept=".zip,.tar.gz,.tgz,application/zip,application/gzip"
        disabled={busy}
        onChange={(e) => void install(e.currentTarget)}
        data-testid="plugin-upload"
      />
      {busy && <p class="muted">Installing…</p>}
      {outcome && (
        <p class={`message ${outcome.status === 'error' ? 'message-error' : 'message-ok'}`} data-status={outcome.status} data-testid="plugin-upload-result">
          <Badge state={outcome.status} /> {outcome.text}
        </p>
      )}
    </div>
  )
}
