import type Redis from 'ioredis'
import { PublishedSetupState, SETUP_STATE_STALE_MS, setupStateKey, SetupStatus } from './setup-state-store'

/** The fleet's view: the most telling state any live process published. */
export interface FleetSetupState {
  status: SetupStatus | 'unknown'
  attempts: number
  nextAttemptAt: string | null
  lastError: string | null
  updatedAt: string | null
  /** Processes that published a state for the config. */
  processes: number
  /** The methods the plugin's loaded code exports, as any live process saw them; null when none has loaded it. */
  methods: string[] | null
}

const RANK: Record<SetupStatus, number> = { pending: 0, ready: 1, retrying: 2, failed: 3, disabled: 4 }

/**
 * The worst state any live process published (a config retrying in one worker is not working
 * there, whatever the others say), the latest of equals; `unknown` when no process knows the config.
 */
export async function readSetupState(redis: Redis, queuePrefix: string, pluginConfigId: number): Promise<FleetSetupState> {
  const raw = await redis.hgetall(setupStateKey(queuePrefix, pluginConfigId))
  // A process that died without clearing its states stops counting once it missed a few refreshes.
  const oldest = Date.now() - SETUP_STATE_STALE_MS
  const states = Object.values(raw)
    .map(parseState)
    .filter((s): s is PublishedSetupState => s !== null && (s.seenAt ?? s.updatedAt) >= oldest)
  if (states.length === 0) return { status: 'unknown', attempts: 0, nextAttemptAt: null, lastError: null, updatedAt: null, processes: 0, methods: null }
  const loaded = states.filter((s) => Array.isArray(s.methods))
  const methods = loaded.length === 0 ? null : [...new Set(loaded.flatMap((s) => s.methods ?? []))].sort()
  const [worst] = states.sort((a, b) => RANK[b.status] - RANK[a.status] || b.updatedAt - a.updatedAt)
  return {
    status: worst.status,
    attempts: worst.attempts,
    nextAttemptAt: worst.nextAttemptAt === null ? null : new Date(worst.nextAttemptAt).toISOString(),
    lastError: worst.lastError,
    updatedAt: new Date(worst.updatedAt).toISOString(),
    processes: states.length,
    methods,
  }
}

function parseState(text: string): PublishedSetupState | null {
  try {
    const value = JSON.parse(text) as PublishedSetupState
    return value && typeof value.status === 'string' && value.status in RANK && typeof value.updatedAt === 'number' ? value : null
  } catch {
    return null
  }
}
