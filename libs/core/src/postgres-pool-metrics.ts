import { Gauge, Registry } from 'prom-client'
import type { Pool } from './postgres'

/**
 * The role's Postgres pool at scrape time: clients in use and idle against PG_POOL_SIZE, and queries
 * waiting for a client. A pool whose queries keep waiting is what running out of connections looks
 * like from inside a pod (its own PG_POOL_SIZE too small for its work, or Postgres refusing new
 * connections past max_connections, which leaves the pool short): `postgres_pool_waiting` above 0
 * scrape after scrape. Reported before the pool exists too (it opens on first use), as 0 open.
 */
export function registerPostgresPoolMetrics(registry: Registry, pool: () => Pool | null, size: number): void {
  new Gauge({
    name: 'postgres_pool_clients',
    help: 'Postgres connections of this process by state: busy (checked out by a query or a transaction) and idle',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const p = pool()
      const idle = p?.idleCount ?? 0
      this.set({ state: 'busy' }, (p?.totalCount ?? 0) - idle)
      this.set({ state: 'idle' }, idle)
    },
  })
  new Gauge({
    name: 'postgres_pool_waiting',
    help: 'Queries of this process waiting for a Postgres connection (all of PG_POOL_SIZE busy, or new connections failing)',
    registers: [registry],
    collect() {
      this.set(pool()?.waitingCount ?? 0)
    },
  })
  new Gauge({ name: 'postgres_pool_max', help: 'PG_POOL_SIZE: the most Postgres connections this process opens', registers: [registry] }).set(size)
}
