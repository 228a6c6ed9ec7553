export * from './plugin-log-row'
export * from './insert-plugin-logs'
export * from './read-plugin-logs'
export * from './latest-plugin-log-ids'
