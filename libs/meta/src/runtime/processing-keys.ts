/**
 * Redis keys of the per-config processing metrics (processing-series.ts). All start with the queue
 * prefix, whose {hash tag} keeps them in one Redis Cluster slot with the rest of the fleet's keys.
 */
export const processingKeys = (prefix: string) => ({
  /** HASH of counts and call-time histogram buckets for what a config's processEvent did in one minute (epoch minutes). */
  series: (configId: number, epochMinute: number) => `${prefix}:processing-series:${configId}:${epochMinute}`,
})

export type ProcessingKeys = ReturnType<typeof processingKeys>
