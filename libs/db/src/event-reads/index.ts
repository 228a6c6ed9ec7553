export * from './count-events-by-name'
export * from './count-team-events-named'
export * from './read-latest-event'
