export interface LocalServer {
  url: string
  port: number
  /** Where the server keeps its files; removed by stop() unless it was asked to persist. */
  dir: string
  stop: () => Promise<void>
  /**
   * Stops and starts the same server on the same port with the same data (used by chaos runs).
   * 'crash' stops it the hard way: Redis by SIGKILL, Postgres by `pg_ctl stop -m immediate`.
   */
  restart: (how?: 'clean' | 'crash') => Promise<void>
}
