export * from './migrate'
export * from './migrations'
export * from './teams'
export * from './events'
