import { useEffect, useState } from 'preact/hooks'

/** `#/configs/12/logs?x=1` → segments `['configs', '12', 'logs']` and the query. */
export interface Location {
  segments: string[]
  query: URLSearchParams
}

function currentLocation(): Location {
  const hash = window.location.hash.replace(/^#\/?/, '')
  const [path, search = ''] = hash.split('?', 2)
  return {
    segments: path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent),
    query: new URLSearchParams(search),
  }
}

/** Hash routing: the server only ever has to answer /admin/, and reloads keep the page. */
export function useLocation(): Location {
  const [state, setState] = useState(() => ({ hash: window.location.hash, location: currentLocation() }))
  useEffect(() => {
    const update = () => setState((shown) => (shown.hash === window.location.hash ? shown : { hash: window.location.hash, location: currentLocation() }))
    window.addEventListener('hashchange', update)
    // Effects run after the first paint: a hash changed since the first render (a link followed at
    // once, a test navigating as soon as the page shows) fired its event before anyone listened.
    update()
    return () => window.removeEventListener('hashchange', update)
  }, [])
  return state.location
}

export function navigate(path: string): void {
  window.location.hash = path
}

export function href(path: string): string {
  return `#${path}`
}
