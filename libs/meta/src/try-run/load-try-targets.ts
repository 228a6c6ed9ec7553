import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { assertTeamExists } from '../management/db-helpers'
import { ManagementContext, ManagementError } from '../management/interfaces'
import { findPluginSummary } from '../management/list-plugins'
import { secretValues } from '../management/redact'
import { validateConfig } from '../management/validate-config'
import { envSecretBox } from '../secrets/env-secret-box'
import { openSecretFields } from '../secrets/secret-fields'
import type { TryTarget } from './interfaces'
import { TryRefusedError } from './try-errors'

/** One plugin a dry run loads, with everything read up front so the run itself only runs plugins. */
export interface TrySpec {
  /** null: a plugin the team has not configured; it reads empty cache, storage and cursors. */
  configId: number | null
  teamId: number
  teamApiToken: string
  pluginId: number
  pluginName: string
  contentHash: string
  /** Plaintext, secrets included: the plugin gets what it would get on the workers. */
  config: Record<string, unknown>
  /** Values scrubbed out of everything the dry run returns. */
  secrets: string[]
  /** Why the config cannot run (its secrets do not decrypt); shown as its failing step. */
  loadError: string | null
}

interface ConfigRow {
  id: number
  team_id: number
  api_token: string
  plugin_id: number
  name: string
  content_hash: string
  config_schema: PluginConfigField[]
  config: Record<string, string>
}

const CONFIG_ROWS = `
SELECT c.id, c.team_id, t.api_token, c.plugin_id, p.name, p.content_hash, p.config_schema, c.config
FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id JOIN teams t ON t.id = c.team_id
WHERE c.team_id = $1 AND ($2::int IS NULL OR c.id = $2) AND (NOT $3 OR c.enabled)
ORDER BY c."order", c.id`

/** Secrets are opened with the same keys management uses; a config that does not open fails alone. */
function fromRow(row: ConfigRow): TrySpec {
  const base = {
    configId: row.id,
    teamId: row.team_id,
    teamApiToken: row.api_token,
    pluginId: row.plugin_id,
    pluginName: row.name,
    contentHash: row.content_hash,
  }
  try {
    const config = openSecretFields(row.config, envSecretBox(), { teamId: row.team_id, pluginId: row.plugin_id })
    return { ...base, config, secrets: secretValues(row.config_schema, config), loadError: null }
  } catch (err) {
    return { ...base, config: {}, secrets: [], loadError: `its secret config values cannot be decrypted: ${(err as Error).message}` }
  }
}

/** A plugin the team has not configured: the given values go through the same checks as creating a config. */
async function pluginSpec(ctx: ManagementContext, teamId: number, target: Extract<TryTarget, { kind: 'plugin' }>): Promise<TrySpec> {
  let plugin
  try {
    plugin = await findPluginSummary(ctx.pool, target.plugin)
  } catch (err) {
    if (err instanceof ManagementError) throw new ManagementError(err.code, err.message, 'target.plugin_id')
    throw err
  }
  let config: Record<string, string>
  try {
    config = validateConfig({
      pluginName: plugin.name,
      schema: plugin.config_schema,
      stored: {},
      given: target.config,
      attachmentKeys: new Set(),
      uploadKeys: [],
    })
  } catch (err) {
    // Named as in the request body's config object, as the config forms name their fields.
    if (err instanceof ManagementError) throw new ManagementError(err.code, err.message, err.field ? `config.${err.field}` : 'config')
    throw err
  }
  const { rows } = await ctx.pool.query<{ api_token: string }>('SELECT api_token FROM teams WHERE id = $1', [teamId])
  return {
    configId: null,
    teamId,
    teamApiToken: rows[0].api_token,
    pluginId: plugin.id,
    pluginName: plugin.name,
    contentHash: plugin.content_hash,
    config,
    secrets: secretValues(plugin.config_schema, config),
    loadError: null,
  }
}

/**
 * What a target runs, in order. A config of another team is refused like one that does not exist
 * (403 either way), so a team token cannot learn which config ids exist elsewhere.
 */
export async function loadTrySpecs(ctx: ManagementContext, teamId: number, target: TryTarget): Promise<TrySpec[]> {
  await assertTeamExists(ctx.pool, teamId)
  if (target.kind === 'plugin') return [await pluginSpec(ctx, teamId, target)]
  const id = target.kind === 'config' ? target.pluginConfigId : null
  const { rows } = await ctx.pool.query<ConfigRow>(CONFIG_ROWS, [teamId, id, target.kind === 'chain'])
  if (target.kind === 'config' && rows.length === 0) {
    throw new TryRefusedError(403, 'forbidden', `plugin config ${id} is not one of team ${teamId}'s configs`, 'target.plugin_config_id')
  }
  return rows.map(fromRow)
}
