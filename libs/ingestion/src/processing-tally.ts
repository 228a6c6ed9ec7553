import { processingTimeBucket, ProcessingSample } from '@plugin-server/plugin-runtime'

/** Who a sample is for: the Redis series is per config, the Prometheus series per plugin. */
export interface TallyTarget {
  configId: number
  pluginName: string
}

/**
 * What each config's processEvent did to one team's part of a batch, added up in memory while the
 * chain runs, so it is handed to ProcessingMetrics once per batch, never once per event.
 */
export class ProcessingTally {
  private readonly samples = new Map<number, { target: TallyTarget; sample: ProcessingSample }>()

  /** One call into the config's sandbox over `events` events, which took `ms`. */
  called(target: TallyTarget, events: number, ms: number): void {
    const sample = this.sample(target)
    sample.events_in += events
    sample.calls += 1
    sample.time_ms += ms
    const bucket = processingTimeBucket(ms)
    sample.histogram.set(bucket, (sample.histogram.get(bucket) ?? 0) + 1)
  }

  returned(target: TallyTarget, events = 1): void {
    this.sample(target).events_returned += events
  }

  dropped(target: TallyTarget, events = 1): void {
    this.sample(target).events_dropped += events
  }

  failed(target: TallyTarget, events: number): void {
    this.sample(target).events_failed += events
  }

  /** An output counted as returned turned out not to be a storable event: it is the config's failure after all. */
  returnedButInvalid(target: TallyTarget, events: number): void {
    const sample = this.sample(target)
    sample.events_returned -= events
    sample.events_failed += events
  }

  entries(): { target: TallyTarget; sample: ProcessingSample }[] {
    return [...this.samples.values()]
  }

  private sample(target: TallyTarget): ProcessingSample {
    let entry = this.samples.get(target.configId)
    if (!entry) {
      entry = {
        target,
        sample: { events_in: 0, events_returned: 0, events_dropped: 0, events_failed: 0, calls: 0, time_ms: 0, histogram: new Map() },
      }
      this.samples.set(target.configId, entry)
    }
    return entry.sample
  }
}
