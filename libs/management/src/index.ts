export { ManagementError } from './interfaces'
export type {
  ManagementContext,
  AttachmentInput,
  PluginConfigView,
  ConfigInputValue,
  PluginLogRow,
  LogQuery,
  TeamUsageView,
  DeleteTeamResult,
  PluginSummary,
} from './interfaces'
export { validateConfig, configFields, MAX_CONFIG_VALUE_BYTES, MAX_CONFIG_BYTES } from './validate-config'
export type { ConfigValidationInput } from './validate-config'
// For Try it (libs/try-it), which checks and scrubs a config the way management does.
export { secretValues as schemaSecretValues } from './redact'
export { assertAttachmentField } from './validate-config'
// For the admin API, which refuses such text in any request string before it reaches a query.
export { unstorableText } from './storable-text'
export { assertTeamExists } from './db-helpers'
export { findPluginSummary } from './list-plugins'
export { filesFromJson } from './content-hash'
export { installPluginArchive, installPluginFromPath } from './install-plugin'
export type { ArchiveKind } from './install-plugin'
export { listPlugins } from './list-plugins'
export { getPlugin, type GetPluginOptions } from './get-plugin'
export { setCurrentVersion } from './set-current-version'
export { deletePlugin } from './delete-plugin'
export { createConfig } from './create-config'
export { MAX_CONFIG_ORDER } from './config-order'
export { updateConfig } from './update-config'
export { setConfigEnabled } from './set-config-enabled'
export { deleteConfig } from './delete-config'
export { cleanDeletedConfigs, DELETED_CONFIG_GRACE_MS } from './clean-deleted-configs'
export type { CleanupDeps, CleanupResult } from './clean-deleted-configs'
export { deleteTeam, TEAM_EVENTS_COUNT_CAP } from './delete-team'
export { cleanDeletedTeams, DELETED_TEAM_GRACE_MS } from './clean-deleted-teams'
export type { TeamCleanupResult } from './clean-deleted-teams'
export { setAttachment } from './set-attachment'
export { parseAttachmentInputs } from './parse-attachments'
export { listConfigs, getConfig } from './list-configs'
export { reorderConfigs } from './reorder-configs'
export { readLogs } from './read-logs'
export { rotateSecrets } from './rotate-secrets'
export type { RotateSecretsResult, SkippedConfig } from './rotate-secrets'
export { createTeamAdminToken } from './create-team-admin-token'
export { listTeamAdminTokens } from './list-team-admin-tokens'
export { revokeTeamAdminToken } from './revoke-team-admin-token'
export { findTeamAdminToken } from './find-team-admin-token'
export { teamUsage } from './team-usage'
export type { TeamUsageLimits } from './team-usage'
export { TEAM_ADMIN_TOKEN_PREFIX } from './team-admin-token-hash'
