/**
 * A config of the team could not be loaded for a reason that is not its plugin's (Postgres
 * unreachable, or its pool too busy, while reading the plugin's files or the config's attachments).
 * The call that needed it fails rather than going on without the plugin: the ingest worker retries
 * that team's part of the batch and an export fan-out is retried, so no event is stored or exported
 * without a plugin only because the server could not read it. A plugin's own failure (it does not
 * compile, throws while evaluated, setup fails) is not this error: its team goes on without it.
 */
export class PluginConfigUnavailableError extends Error {
  constructor(
    readonly teamId: number,
    readonly configs: readonly { id: number; pluginName: string; error: string }[],
  ) {
    const named = configs.map((c) => `${c.pluginName} (${c.id}): ${c.error}`).join('; ')
    super(`team ${teamId}: plugin config${configs.length === 1 ? '' : 's'} could not be loaded, tried again with the batch: ${named}`)
    this.name = 'PluginConfigUnavailableError'
  }
}
