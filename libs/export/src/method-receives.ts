import type { ExportMethod } from './interfaces'

/**
 * Whether an export method is given an event of this name: a session recording (`$snapshot`) goes
 * to onSnapshot only, every other event to the rest — exportEvents included, which PostHog fed from
 * onEvent. The fan-out, historical runs and Try it each ask this, so they cannot disagree.
 */
export function methodReceives(method: ExportMethod, event: string): boolean {
  return (event === '$snapshot') === (method === 'onSnapshot')
}
