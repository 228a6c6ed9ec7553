export * from './read-plugin-storage-value'
export * from './write-plugin-storage-value'
export * from './delete-plugin-storage-value'
export * from './read-team-storage-bytes'
