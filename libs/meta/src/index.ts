export * from './management'
export * from './runtime'
