import { sql as initial } from './0001-initial'

export interface Migration {
  id: string
  sql: string
}

/** Ordered; ids never change once released, new schema changes append a new entry. */
export const MIGRATIONS: readonly Migration[] = [{ id: '0001-initial', sql: initial }]
