import { disablePluginConfig, setPluginConfigError } from '@plugin-server/db'
import type { Pool } from 'pg'

export interface StoredPluginError {
  message: string
  name: string
  time: string
  event?: string
}

/** The config's last error, shown to its users; messages are already redacted by the caller. */
export async function setConfigError(pool: Pool, pluginConfigId: number, error: StoredPluginError | null): Promise<void> {
  await setPluginConfigError(pool, pluginConfigId, error === null ? null : JSON.stringify(error))
}

/** Disables a config for the whole fleet (every worker tears it down on the reload that follows). */
export async function disableConfig(pool: Pool, pluginConfigId: number, reason: string, errorName = 'SetupError'): Promise<void> {
  await disablePluginConfig(pool, pluginConfigId, reason, JSON.stringify({ message: reason, name: errorName, time: new Date().toISOString() }))
}
