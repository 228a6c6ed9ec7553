export * from './management'
export * from './runtime'
export * from './secrets'
