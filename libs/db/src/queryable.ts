import type { Pool, PoolClient } from 'pg'

/** Reads that may run inside a caller's transaction take either the pool or the transaction's client. */
export type Queryable = Pool | PoolClient
