import { useState } from 'preact/hooks'
import { api } from '../../api/endpoints'
import type { Me } from '../../api/types'
import { toApiError } from '../../lib/use-async'
import { storeToken } from '../../lib/session'

interface Props {
  /** Why the last session ended, if it did (a refused token). */
  message: string | null
  onLogin: (me: Me) => void
}

export function LoginPage({ message, onLogin }: Props) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | null>(message)
  const [busy, setBusy] = useState(false)

  const submit = async (e: Event) => {
    e.preventDefault()
    const candidate = token.trim()
    if (candidate === '') {
      setError('Enter the operator token (ADMIN_API_TOKEN) or a team token (pst_…).')
      return
    }
    setBusy(true)
    try {
      const me = await api.me(candidate)
      storeToken(candidate)
      onLogin(me)
    } catch (err) {
      setError(toApiError(err).message)
      setBusy(false)
    }
  }

  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit}>
        <h1>Plugin server admin</h1>
        <label for="login-token">Admin API token</label>
        <input
          id="login-token"
          type="password"
          autocomplete="current-password"
          placeholder="operator token or pst_…"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          data-testid="login-token"
          autofocus
        />
        <p class="help">Kept in this tab only (sessionStorage) and sent as a Bearer token to /api.</p>
        {error && (
          <p class="message message-error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy} data-testid="login-submit">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
