export * from './deleted-plugin-config-record'
export * from './list-deleted-plugin-configs'
export * from './forget-deleted-plugin-config'
export * from './team-uses-plugin'
