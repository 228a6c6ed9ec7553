export { migrate } from './migrate'
export { databaseNow } from './database-now'
export type { MigrateOptions, MigrateResult } from './migrate'
export { MIGRATIONS } from './migrations'
export { createTeam, findTeamByToken, listTeams, findTeamById, setTeamAnonymizeIps } from './teams'
export type { Team } from './teams'
export { insertEvents, storeEvents, countEvents, INSERT_EVENTS_SQL, INSERT_EVENTS_STATEMENT, lookupRanges } from './events'
export type { StoredEvents } from './events'
export { utcDayStart, addDays, eventsPartitionName, listEventsPartitions, createEventsPartition, maintainEventsPartitions } from './events-partitions'
export type { EventsPartitionMaintenance } from './events-partitions'
export { inTransaction } from './in-transaction'
export { recordPluginLoadError } from './record-plugin-load-error'
export { clearPluginLoadError } from './clear-plugin-load-error'
export {
  createHistoricalRun,
  getHistoricalRun,
  getHistoricalRunStatus,
  listHistoricalRuns,
  listUnfinishedHistoricalRuns,
  countHistoricalEvents,
  countTransactionsBeforeSnapshot,
  beginHistoricalRun,
  readHistoricalPage,
  setHistoricalPendingEnd,
  advanceHistoricalCursor,
  finishHistoricalRun,
  cancelHistoricalRun,
  recordHistoricalRunError,
  getConfigValues,
} from './historical-runs'
export type { HistoricalRunStatus, HistoricalRunRecord, HistoricalEventRow, HistoricalRunPage } from './historical-runs'
export {
  findPluginVersion,
  makePluginVersionCurrent,
  listPluginConfigVersions,
  deletePluginRow,
  nextPluginVersion,
  readPluginVersionFiles,
  listPluginVersionNumbers,
  lockPluginRow,
  insertPluginVersion,
  listPluginVersionSummaries,
  listPluginVersionJsons,
} from './plugin-versions'
export { PLUGIN_LOG_TYPES, PLUGIN_LOG_SOURCES, insertPluginLogs, readPluginLogs, latestPluginLogIds, deletePluginLogsBefore } from './plugin-logs'
export type { PluginLogType, PluginLogSource, NewPluginLogRow, PluginLogRecord } from './plugin-logs'
export { versionKey, readVersionCapabilities, recordVersionCapabilities, readConfigCapabilities, readConfigVersion } from './plugin-capabilities'
export type { ConfigVersion, PluginVersionKey } from './plugin-capabilities'
export type { Queryable } from './queryable'
export { findTeamAdminTokenByHash, touchTeamAdminToken, insertTeamAdminToken, markTeamAdminTokenRevoked, listTeamAdminTokenRecords } from './team-admin-tokens'
export type { TeamAdminTokenRecord } from './team-admin-tokens'
export {
  findPluginConfigDetail,
  listTeamPluginConfigDetails,
  findPluginConfigTeam,
  setPluginConfigEnabled,
  updatePluginConfigRow,
  touchPluginConfig,
  lockTeamPluginConfigIds,
  setPluginConfigOrder,
  lockTeamConfigOrder,
  makeRoomForConfigOrder,
  lockPluginConfigCreate,
  findTeamPluginConfigId,
  insertPluginConfig,
  deletePluginConfigRow,
  listPluginConfigIds,
  lockPluginConfigSecrets,
  writePluginConfigValues,
  setPluginConfigError,
  disablePluginConfig,
  listEnabledConfigRuns,
  findPluginConfigPlugin,
  listEnabledConfigIds,
  listExistingConfigIds,
  findPluginConfigJobTarget,
  listTryConfigRows,
} from './plugin-configs'
export type { PluginConfigDetailRecord, PluginConfigSecretsRecord, EnabledConfigRunRecord, ConfigRunScope, TryConfigRecord } from './plugin-configs'
export { listAttachmentContents, listAttachmentSummaries, upsertPluginAttachment, listPluginAttachmentKeys, listPluginAttachments } from './plugin-attachments'
export type { AttachmentContentsRecord } from './plugin-attachments'
export { listPluginRecords, findPluginRecord, readPluginJson, lockPluginName, insertPluginRow, updatePluginRow } from './plugins'
export type { PluginRecord, PluginRowInput } from './plugins'
export { readPluginStorageValue, writePluginStorageValue, deletePluginStorageValue, readTeamStorageBytes, readTeamsStorageBytes } from './plugin-storage'
export type { PluginStorageWrite } from './plugin-storage'
export {
  insertDeadLetterRow,
  PluginConfigGoneError,
  listDeadLetterRecords,
  readDeadLetterEvents,
  readDeadLettersEvents,
  markDeadLettersReplayed,
  countDeadLetters,
  countPendingDeadLetters,
  countPendingDeadLettersByTeam,
  deleteDeadLettersBefore,
} from './dead-letters'
export type { DeadLetterRecord } from './dead-letters'
export { countEventsByName, countTeamEventsNamed, readLatestEvent } from './event-reads'
export type { LatestEventRecord } from './event-reads'
export { POSTGRES_INT_MAX } from './postgres-int-max'
export {
  listDeletedPluginConfigs,
  forgetDeletedPluginConfig,
  markDeletedPluginConfigCleaned,
  teamUsesPlugin,
  listTeamDeletedPluginConfigIds,
} from './deleted-plugin-configs'
export type { DeletedPluginConfigRecord } from './deleted-plugin-configs'
export {
  listDeletedTeams,
  markDeletedTeamCleaned,
  forgetDeletedTeam,
  lockTeamForDelete,
  deleteTeamRow,
  deleteTeamEvents,
  deleteTeamLogs,
} from './deleted-teams'
export type { DeletedTeamRecord, TeamHoldings } from './deleted-teams'
