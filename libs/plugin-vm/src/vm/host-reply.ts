/** What the sandbox gets back for one host call. */
export interface HostReply {
  ok: boolean
  value?: unknown
  error?: { name: string; message: string; code?: unknown }
  /** The reply is that of the crossing's call at this index (a `cache.get` of a key read once for several callers). */
  same?: number
  /** Cache values the host holds for the sandbox until it says it has them (`cache.taken`, CacheReads). */
  taken?: number
}

export function failure(error: unknown): HostReply {
  const e = error as { name?: unknown; message?: unknown; code?: unknown }
  const code = typeof e?.code === 'string' || typeof e?.code === 'number' ? e.code : undefined
  return { ok: false, error: { name: String(e?.name ?? 'Error'), message: String(e?.message ?? error), code } }
}
