export type { LocalServer } from './interfaces'
export { ephemeralStart, freePort, waitFor } from './free-port'
export { startRedisServer } from './redis-server'
export { startPostgresServer } from './postgres-server'
