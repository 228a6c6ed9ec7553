export interface LocalServer {
  url: string
  port: number
  /** Where the server keeps its files; removed by stop() unless it was asked to persist. */
  dir: string
  stop: () => Promise<void>
  /** Stops and starts the same server on the same port with the same data (used by chaos runs). */
  restart: () => Promise<void>
}
