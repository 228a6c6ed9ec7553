import { ALLOWLIST_VARIABLE } from './address-policy'

/** A plugin asked to reach an address or scheme the fetch policy refuses. */
export class FetchRefusedError extends Error {
  override name = 'FetchRefusedError'
  readonly code = 'ERR_PLUGIN_FETCH_REFUSED'

  constructor(what: string, hint = true) {
    // The message names the host, never the path or query: those may carry the plugin's secrets.
    super(`fetch refused: ${what}${hint ? ` (operators can allow internal hosts with ${ALLOWLIST_VARIABLE})` : ''}`)
  }
}
