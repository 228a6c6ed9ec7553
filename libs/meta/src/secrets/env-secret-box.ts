import { parseSecretKeys } from '@plugin-server/core'
import { SecretBox } from './secret-box'

let cached: { raw: string | undefined; box: SecretBox } | null = null

/**
 * The box of `PLUGIN_SECRETS_KEYS` from this process's environment, for management operations:
 * their contexts are built in many places (CLI, admin API, demo, tests) and every one of them runs
 * in a process whose environment holds the keys. Roles validate the variable at start-up
 * (loadConfig); here a bad value fails the operation with the same message.
 */
export function envSecretBox(): SecretBox {
  const raw = process.env.PLUGIN_SECRETS_KEYS
  if (cached === null || cached.raw !== raw) cached = { raw, box: new SecretBox(parseSecretKeys(raw)) }
  return cached.box
}
