/**
 * A dry run refused before any plugin ran. Management errors (400, 404) stay ManagementErrors; these
 * are the two answers they have no code for: a target of another team, and too many dry runs.
 */
export class TryRefusedError extends Error {
  override name = 'TryRefusedError'

  constructor(
    readonly status: 403 | 429,
    readonly code: 'forbidden' | 'too_many_requests',
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}
