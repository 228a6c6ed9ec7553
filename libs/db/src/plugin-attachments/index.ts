export * from './list-attachment-summaries'
export * from './upsert-plugin-attachment'
export * from './list-plugin-attachment-keys'
export * from './list-plugin-attachments'
