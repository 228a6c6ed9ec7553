import { randomUUID } from 'node:crypto'
import type { RemoteConfig } from './remote-config'

/**
 * The answer to /flags and /decide with no flags defined. Shapes by API version, after posthog-js:
 * /decide's `featureFlags` was a list of enabled keys before v2 and a key → value map since, and
 * v4 added the `flags` details map, which /flags always has. /decide always carried the
 * project's config too; /flags only when asked (`config=true`).
 */
export interface FlagsResponse {
  featureFlags: Record<string, never> | never[]
  featureFlagPayloads: Record<string, never>
  errorsWhileComputingFlags: false
  flags?: Record<string, never>
  requestId: string
  evaluatedAt: number
}

export type FlagsWithConfig = FlagsResponse & Partial<RemoteConfig> & { config?: { enable_collect_everything: true } }

export function flagsResponse(endpoint: 'flags' | 'decide', version: number, config: RemoteConfig | null, now: Date): FlagsWithConfig {
  const flags: FlagsResponse = {
    featureFlags: endpoint === 'flags' || version >= 2 ? {} : [],
    featureFlagPayloads: {},
    errorsWhileComputingFlags: false,
    ...(endpoint === 'flags' || version >= 4 ? { flags: {} } : {}),
    requestId: randomUUID(),
    evaluatedAt: now.getTime(),
  }
  if (config === null) return flags
  // `config.enable_collect_everything` is how SDKs older than remote config learnt autocapture was allowed.
  return { ...config, ...flags, config: { enable_collect_everything: true } }
}

/** `?v=` as a number; a missing or odd value counts as the oldest version, as PostHog's decide does. */
export function apiVersion(query: URLSearchParams): number {
  const v = Number.parseInt(query.get('v') ?? '', 10)
  return Number.isFinite(v) && v > 0 ? v : 1
}
