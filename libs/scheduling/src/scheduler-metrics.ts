import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Labelled by task only: a config id label would make one series per config (thousands). */
export interface SchedulerMetrics {
  runs: Counter<'task' | 'outcome'>
  durationSeconds: Histogram<'task'>
  startDriftSeconds: Histogram<'task'>
  overlaps: Counter<'task'>
  takeovers: Counter<'task'>
  chainsCreated: Counter<'reason'>
  chainsRemoved: Counter<'reason'>
  chains: Gauge
  reconcileSeconds: Histogram
  shardsOwned: Gauge
}

export function createSchedulerMetrics(registry: Registry): SchedulerMetrics {
  return {
    runs: new Counter({
      name: 'scheduler_task_runs_total',
      help: 'Runs of runEvery* tasks by outcome: success, error (the plugin threw), timeout (sandbox deadline or memory limit), skipped (config not set up in this replica), dropped (config disabled or deleted: the chain ends)',
      labelNames: ['task', 'outcome'],
      registers: [registry],
    }),
    durationSeconds: new Histogram({
      name: 'scheduler_task_duration_seconds',
      help: 'Duration of one runEvery* run, from start to end of the plugin call',
      labelNames: ['task'],
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 30, 60, 300],
      registers: [registry],
    }),
    startDriftSeconds: new Histogram({
      name: 'scheduler_task_start_drift_seconds',
      help: "Start of a run minus its due time on the phase-locked schedule: the previous run's duration (BullMQ delays a successor from the end of the run that added it), waits for a slot or a team share, and the lease for takeovers after a crash",
      labelNames: ['task'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 300],
      registers: [registry],
    }),
    overlaps: new Counter({
      name: 'scheduler_task_overlaps_total',
      help: 'Runs that started while another run of the same task of the same config was still marked running (should stay 0)',
      labelNames: ['task'],
      registers: [registry],
    }),
    takeovers: new Counter({
      name: 'scheduler_task_takeovers_total',
      help: 'Runs started again because the replica running them died (lease expired)',
      labelNames: ['task'],
      registers: [registry],
    }),
    chainsCreated: new Counter({
      name: 'scheduler_chains_created_total',
      help: 'Task chains (re)created by the reconciler: new config, or chain lost (Redis data lost)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    chainsRemoved: new Counter({
      name: 'scheduler_chains_removed_total',
      help: 'Task chains removed by the reconciler: config disabled or deleted, or task no longer exported',
      labelNames: ['reason'],
      registers: [registry],
    }),
    chains: new Gauge({ name: 'scheduler_chains', help: 'Task chains the last reconcile of this replica found or created', registers: [registry] }),
    shardsOwned: new Gauge({
      name: 'scheduler_shards_owned',
      help: 'Shards of the scheduled queues (SCHEDULER_SHARDS) this replica works',
      registers: [registry],
    }),
    reconcileSeconds: new Histogram({
      name: 'scheduler_reconcile_seconds',
      help: 'Duration of one reconcile pass over every enabled config',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
  }
}
