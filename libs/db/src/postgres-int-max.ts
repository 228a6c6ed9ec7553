/**
 * The largest Postgres `integer` (every id here but log rows'). A larger number sent in a query
 * fails it ("out of range for type integer"): callers taking ids and counts from people check
 * against this first, so the error names their field instead of being the database's.
 */
export const POSTGRES_INT_MAX = 2_147_483_647
