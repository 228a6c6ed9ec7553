import { sql as initial } from './0001-initial'
import { sql as pluginManagement } from './0002-plugin-management'
import { sql as exportsSchema } from './0003-exports'
import { sql as teamAdminTokens } from './0004-team-admin-tokens'
import { sql as eventsTeamUuidKey } from './0005-events-team-uuid-key'
import { sql as durableHistoricalExports } from './0006-durable-historical-exports'
import { sql as eventsPartitionedByDay } from './0007-events-partitioned-by-day'
import { sql as pluginVersionPins } from './0008-plugin-version-pins'
import { sql as pluginVersionCapabilities } from './0009-plugin-version-capabilities'
import { sql as pluginStorageUsage } from './0010-plugin-storage-usage'
import { sql as pluginStorageRowBytes } from './0011-plugin-storage-row-bytes'
import { sql as deletedPluginConfigs } from './0012-deleted-plugin-configs'
import { sql as deadLetterRetention } from './0013-dead-letter-retention'
import { sql as deletedTeams } from './0014-deleted-teams'
import { sql as pluginVersionPublicJobOrder } from './0015-plugin-version-public-job-order'
import { sql as pluginAttachmentContentsMd5 } from './0016-plugin-attachment-contents-md5'
import { sql as pluginAttachmentContentsMd5Fill } from './0017-plugin-attachment-contents-md5-fill'
import { sql as teamAnonymizeIps } from './0018-team-anonymize-ips'

export interface Migration {
  id: string
  sql: string
}

/** Ordered; ids never change once released, new schema changes append a new entry. */
export const MIGRATIONS: readonly Migration[] = [
  { id: '0001-initial', sql: initial },
  { id: '0002-plugin-management', sql: pluginManagement },
  { id: '0003-exports', sql: exportsSchema },
  { id: '0004-team-admin-tokens', sql: teamAdminTokens },
  { id: '0005-events-team-uuid-key', sql: eventsTeamUuidKey },
  { id: '0006-durable-historical-exports', sql: durableHistoricalExports },
  { id: '0007-events-partitioned-by-day', sql: eventsPartitionedByDay },
  { id: '0008-plugin-version-pins', sql: pluginVersionPins },
  { id: '0009-plugin-version-capabilities', sql: pluginVersionCapabilities },
  { id: '0010-plugin-storage-usage', sql: pluginStorageUsage },
  { id: '0011-plugin-storage-row-bytes', sql: pluginStorageRowBytes },
  { id: '0012-deleted-plugin-configs', sql: deletedPluginConfigs },
  { id: '0013-dead-letter-retention', sql: deadLetterRetention },
  { id: '0014-deleted-teams', sql: deletedTeams },
  { id: '0015-plugin-version-public-job-order', sql: pluginVersionPublicJobOrder },
  { id: '0016-plugin-attachment-contents-md5', sql: pluginAttachmentContentsMd5 },
  { id: '0017-plugin-attachment-contents-md5-fill', sql: pluginAttachmentContentsMd5Fill },
  { id: '0018-team-anonymize-ips', sql: teamAnonymizeIps },
]
