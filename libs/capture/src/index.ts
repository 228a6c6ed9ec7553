export * from './parse'
export * from './team-resolver'
export * from './capture-metrics'
export * from './capture-server'
