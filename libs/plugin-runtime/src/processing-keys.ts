import { redisKeys } from '@plugin-server/core'

/** The processing metrics' keys (processing-series.ts); built, with every other key, in core's redis-keys.ts. */
export const processingKeys = (prefix: string) => ({ series: redisKeys(prefix).processingSeries })

export type ProcessingKeys = ReturnType<typeof processingKeys>
