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
  const [location, setLocation] = useState(currentLocation)
  useEffect(() => {
    const update = () => setLocation(currentLocation())
    window.addEventListener('hashchange', update)
    return () => window.removeEventListener('hashchange', update)
  }, [])
  return location
}

export function navigate(path: string): void {
  window.location.hash = path
}

export function href(path: string): string {
  return `#${path}`
}
