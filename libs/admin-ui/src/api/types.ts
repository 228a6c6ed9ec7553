// The admin API's answers and request bodies are @plugin-server/admin-contract's (dates arrive as
// ISO strings); only the UI's own lists of log filter values are kept here.
import type { LogLevel, LogSource } from '@plugin-server/admin-contract'

export type * from '@plugin-server/admin-contract'
export type { ConfigStatusView as ConfigStatus } from '@plugin-server/admin-contract'

export const LOG_LEVELS = ['DEBUG', 'LOG', 'INFO', 'WARN', 'ERROR'] as const satisfies readonly LogLevel[]
export const LOG_SOURCES = ['SYSTEM', 'PLUGIN', 'CONSOLE'] as const satisfies readonly LogSource[]
