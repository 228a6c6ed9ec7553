import { useEffect, useState } from 'preact/hooks'
import { onUnauthorized } from './api/client'
import { api } from './api/endpoints'
import type { Me } from './api/types'
import { Loading } from './components/loading'
import { clearSession, storedToken } from './lib/session'
import { toApiError } from './lib/use-async'
import { LoginPage } from './pages/login/login-page'
import { Shell } from './shell'

/** Login gate: who the stored token is decides everything else (GET /api/me). */
export function App() {
  const [me, setMe] = useState<Me | null>(null)
  const [resuming, setResuming] = useState(storedToken() !== null)
  const [message, setMessage] = useState<string | null>(null)

  useEffect(() => {
    onUnauthorized((reason) => {
      setMe(null)
      setMessage(`Signed out: ${reason}`)
    })
    // A reload keeps the tab's token; ask again who it is rather than trusting a stored answer.
    if (storedToken() !== null) {
      api
        .me()
        .then(
          (who) => setMe(who),
          (err: unknown) => setMessage(toApiError(err).message),
        )
        .finally(() => setResuming(false))
    }
  }, [])

  if (resuming) return <Loading />
  if (me === null) {
    return (
      <LoginPage
        message={message}
        onLogin={(who) => {
          setMessage(null)
          setMe(who)
        }}
      />
    )
  }
  return (
    <Shell
      me={me}
      onLogout={() => {
        clearSession()
        setMessage(null)
        setMe(null)
      }}
    />
  )
}
