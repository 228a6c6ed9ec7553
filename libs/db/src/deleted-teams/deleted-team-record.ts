/** A team deleted from teams whose events, log rows and Redis state may still be there (migration 0014). */
export interface DeletedTeamRecord {
  team_id: number
  name: string
  deleted_at: Date
  /** When a cleanup of it first finished; null until then. */
  cleaned_at: Date | null
}
