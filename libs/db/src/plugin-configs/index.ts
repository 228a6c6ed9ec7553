export * from './plugin-config-record'
export * from './find-plugin-config-record'
export * from './list-team-plugin-config-records'
export * from './find-plugin-config-team'
