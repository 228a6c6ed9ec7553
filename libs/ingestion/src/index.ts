export * from './interfaces'
export * from './ingest-pipeline'
export * from './ingest-consumer'
