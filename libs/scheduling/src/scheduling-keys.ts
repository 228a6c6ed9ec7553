/**
 * Redis keys the scheduler keeps next to BullMQ's own. All start with the queue prefix, so they
 * share its Redis Cluster hash tag and disappear with the rest when a test prefix is dropped.
 */
export const schedulingKeys = {
  /** SET of chain ids the reconciler created: what it must remove when a config goes away. */
  chains: (prefix: string) => `${prefix}:scheduler:chains`,
  /** HASH chain id → epoch ms of the end of its last run: where a re-created chain resumes. */
  lastFinish: (prefix: string) => `${prefix}:scheduler:last-finish`,
  /** STRING job id of the run in progress, with a TTL: how overlaps are detected. */
  running: (prefix: string, chain: string) => `${prefix}:scheduler:running:${chain}`,
  /** LIST of the chain's last runs, newest first (JSON TaskRunRecord), capped and expiring: the admin API's history. */
  runs: (prefix: string, chain: string) => `${prefix}:scheduler:runs:${chain}`,
}
