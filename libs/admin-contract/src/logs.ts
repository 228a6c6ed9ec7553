export type LogLevel = 'DEBUG' | 'LOG' | 'INFO' | 'WARN' | 'ERROR'
export type LogSource = 'SYSTEM' | 'PLUGIN' | 'CONSOLE'

/** Every page of log rows is oldest first (ascending id): the last row is the newest, and its id is the follow cursor. */
export interface LogRow {
  id: number
  timestamp: string
  source: LogSource
  type: LogLevel
  /** The first line says what happened; an ERROR from plugin code has the plugin's stack frames on the lines after it. */
  message: string
}

/** The query string of `GET /api/configs/:id/logs` (`level` and `source` repeat). */
export interface LogQuery {
  levels: string[]
  sources: string[]
  search: string
  /** Only rows with a larger id (the follow cursor); without it, the newest `limit` rows. */
  after?: number
  limit?: number
  /** With `after`: seconds (1–30) the server may hold the request until a row arrives. */
  wait?: number
}
