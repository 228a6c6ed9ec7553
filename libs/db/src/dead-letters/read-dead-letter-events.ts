import type { Pool } from 'pg'

/** The letter's events (`Event` typed by the caller); empty when there is no such letter. */
export async function readDeadLetterEvents<Event = unknown>(pool: Pool, id: number): Promise<Event[]> {
  const { rows } = await pool.query<{ events: Event[] }>('SELECT events FROM export_dead_letters WHERE id = $1', [id])
  return rows[0]?.events ?? []
}
