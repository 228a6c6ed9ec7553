/**
 * What the scheduler's dead-letter retention (EXPORT_DEAD_LETTER_RETENTION_DAYS,
 * EXPORT_DEAD_LETTER_REPLAYED_RETENTION_DAYS) deletes by: each pass finds its oldest rows from an
 * index instead of reading the whole table, whose rows hold whole batches. Partial, so a letter is in
 * one of them at a time; dead letters are written only when deliveries fail, so the write cost is
 * that of the rare insert and replay.
 */
export const sql = /* sql */ `
CREATE INDEX export_dead_letters_pending_created ON export_dead_letters (created_at) WHERE replayed_at IS NULL;
CREATE INDEX export_dead_letters_replayed ON export_dead_letters (replayed_at) WHERE replayed_at IS NOT NULL;
`
