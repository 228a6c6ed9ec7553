import type { Pool } from 'pg'

/** The letter's events (`Event` typed by the caller); empty when there is no such letter. */
export async function readDeadLetterEvents<Event = unknown>(pool: Pool, id: number): Promise<Event[]> {
  return (await readDeadLettersEvents<Event>(pool, [id])).get(id) ?? []
}

/** The events of each of these letters by id, in one query; a letter that is not there is left out. */
export async function readDeadLettersEvents<Event = unknown>(pool: Pool, ids: readonly number[]): Promise<Map<number, Event[]>> {
  if (ids.length === 0) return new Map()
  const { rows } = await pool.query<{ id: string; events: Event[] }>('SELECT id, events FROM export_dead_letters WHERE id = ANY($1::bigint[])', [ids])
  return new Map(rows.map((r) => [Number(r.id), r.events]))
}
