import { Client } from 'pg'
import type { Logger } from './logger'
import { withTimeout } from './with-timeout'

export interface PostgresProbeOptions {
  applicationName: string
  /** How long connecting, and then the query, may each take before the probe fails. */
  timeoutMs: number
}

/**
 * Readiness asks whether Postgres answers, through one connection of its own: through the role's
 * pool it queued behind the role's work, so a pool busy for over the probe's timeout (a scheduler or
 * exporter running 50 jobs over 10 connections) failed readiness while Postgres was fine. Opened on
 * the first probe and kept (probes come every few seconds for the pod's life), replaced after any
 * error (a query that timed out leaves the connection out of step), closed at shutdown. Probes that
 * overlap share one query, so the connection never holds a queue of them.
 */
export class PostgresProbe {
  private client: Client | null = null
  private inFlight: Promise<void> | null = null
  private closed = false

  constructor(
    private readonly url: string,
    private readonly options: PostgresProbeOptions,
    private readonly logger: Logger,
  ) {}

  check(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the postgres probe is closed'))
    return (this.inFlight ??= this.probe().finally(() => (this.inFlight = null)))
  }

  async close(): Promise<void> {
    this.closed = true
    await this.inFlight?.catch(() => undefined)
    const client = this.client
    this.client = null
    // Bounded: a goodbye to a peer that stopped answering would wait for its reply for good.
    if (client) await withTimeout(client.end(), this.options.timeoutMs).catch(() => undefined)
  }

  private async probe(): Promise<void> {
    const client = (this.client ??= await this.connect())
    try {
      // query_timeout (pg's, not in its types): a half-open connection otherwise holds the query for good.
      await client.query({ text: 'SELECT 1', query_timeout: this.options.timeoutMs } as { text: string })
    } catch (err) {
      this.drop(client)
      throw err
    }
  }

  private async connect(): Promise<Client> {
    const client = new Client({
      connectionString: this.url,
      application_name: this.options.applicationName,
      connectionTimeoutMillis: this.options.timeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    })
    // A connection lost between probes (Postgres restarted, an idle timeout) is replaced at the next probe.
    client.on('error', (err) => {
      this.logger.warn({ err: err.message }, 'postgres readiness connection lost, the next probe opens another')
      this.drop(client)
    })
    client.on('end', () => this.drop(client))
    try {
      await client.connect()
    } catch (err) {
      await client.end().catch(() => undefined)
      throw err
    }
    if (this.closed) {
      await client.end().catch(() => undefined)
      throw new Error('the postgres probe is closed')
    }
    return client
  }

  private drop(client: Client): void {
    if (this.client === client) this.client = null
    client.end().catch(() => undefined)
  }
}
