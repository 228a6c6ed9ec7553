import { redisKeys } from '@plugin-server/core'

/** The keys the scheduler keeps next to BullMQ's own; built, with every other key of the fleet, in core's redis-keys.ts. */
export const schedulingKeys = {
  chains: (prefix: string) => redisKeys(prefix).scheduler.chains(),
  lastFinish: (prefix: string) => redisKeys(prefix).scheduler.lastFinish(),
  running: (prefix: string, chain: string) => redisKeys(prefix).scheduler.running(chain),
  runs: (prefix: string, chain: string) => redisKeys(prefix).scheduler.runs(chain),
  replicas: (prefix: string) => redisKeys(prefix).scheduler.replicas(),
}
