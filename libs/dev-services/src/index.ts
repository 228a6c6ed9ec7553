export * from './interfaces'
export * from './free-port'
export * from './redis-server'
export * from './postgres-server'
