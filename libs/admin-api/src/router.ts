import { configDataRoutes } from './routes/config-data'
import { configStatusRoutes } from './routes/config-status'
import { configRoutes } from './routes/configs'
import { exportRoutes } from './routes/exports'
import { jobRoutes } from './routes/jobs'
import { meRoutes } from './routes/me'
import { pluginRoutes } from './routes/plugins'
import { Route } from './routes/route'
import { teamRoutes } from './routes/teams'
import { tryRoutes } from './routes/try'

export const ROUTES: readonly Route[] = [
  ...teamRoutes,
  ...pluginRoutes,
  ...configRoutes,
  ...configDataRoutes,
  ...meRoutes,
  ...configStatusRoutes,
  ...jobRoutes,
  ...exportRoutes,
  ...tryRoutes,
]

export interface RouteMatch {
  route: Route
  params: Record<string, string>
}

function matchPattern(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/')
  const got = path.split('/')
  if (want.length !== got.length) return null
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) {
      if (got[i] === '') return null
      try {
        params[want[i].slice(1)] = decodeURIComponent(got[i])
      } catch {
        return null
      }
    } else if (want[i] !== got[i]) return null
  }
  return params
}

/** The matching route, or the methods the path allows (for a 405), or nothing (a 404). */
export function findRoute(method: string, path: string): RouteMatch | { allowed: string[] } | null {
  const allowed: string[] = []
  for (const route of ROUTES) {
    const params = matchPattern(route.pattern, path)
    if (!params) continue
    if (route.method === method) return { route, params }
    allowed.push(route.method)
  }
  return allowed.length > 0 ? { allowed } : null
}
