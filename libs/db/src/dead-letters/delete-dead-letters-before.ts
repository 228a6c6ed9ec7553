import type { Pool } from 'pg'

/**
 * Deletes dead letters not replayed that were created before `pending`, and replayed ones replayed
 * before `replayed` (null: none of that kind), `batch` rows per statement — a row holds a whole
 * batch, so a statement's rows stay a few hundred MB at most in WAL and locks — through migration
 * 0013's indexes. SKIP LOCKED: a second scheduler replica's pass takes other rows instead of waiting
 * on these. Answers how many of each went.
 */
export async function deleteDeadLettersBefore(
  pool: Pool,
  cutoffs: { pending: Date | null; replayed: Date | null },
  batch = 500,
): Promise<{ pending: number; replayed: number }> {
  const kinds = [
    { kind: 'pending' as const, cutoff: cutoffs.pending, where: 'replayed_at IS NULL AND created_at < $1 ORDER BY created_at' },
    { kind: 'replayed' as const, cutoff: cutoffs.replayed, where: 'replayed_at IS NOT NULL AND replayed_at < $1 ORDER BY replayed_at' },
  ]
  const deleted = { pending: 0, replayed: 0 }
  for (const { kind, cutoff, where } of kinds) {
    if (!cutoff) continue
    for (;;) {
      const { rowCount } = await pool.query(
        // ARRAY(…): deleted by the primary key; as `id IN (…)` the planner may hash the ids and read the whole table.
        `DELETE FROM export_dead_letters WHERE id = ANY(ARRAY(SELECT id FROM export_dead_letters WHERE ${where} LIMIT $2 FOR UPDATE SKIP LOCKED))`,
        [cutoff, batch],
      )
      deleted[kind] += rowCount ?? 0
      if ((rowCount ?? 0) < batch) break
    }
  }
  return deleted
}
