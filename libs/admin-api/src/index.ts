export * from './interfaces'
export { createAdminApi } from './create-admin-api'
