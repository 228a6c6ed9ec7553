import { ManagementError } from './interfaces'

/**
 * A chain position given to create or update. Taking a held position adds 1 to every later config
 * and a new config without one goes after the last (`MAX("order") + 1`): far below Postgres'
 * integer limit, neither can overflow it, which would fail that create and every later one.
 */
export const MAX_CONFIG_ORDER = 1_000_000

export function assertConfigOrder(order: number | null | undefined): void {
  if (order === undefined || order === null) return
  if (!Number.isInteger(order) || Math.abs(order) > MAX_CONFIG_ORDER)
    throw new ManagementError('validation_error', `order must be an integer from ${-MAX_CONFIG_ORDER} to ${MAX_CONFIG_ORDER}`, 'order')
}
