export * from './interfaces'
export { createAdminApi } from './create-admin-api'
export { ROUTES } from './router'
export type { Route, RouteAccess, HttpMethod } from './routes/route'
