import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface CaptureMetrics {
  requests: Counter<'status'>
  events: Counter
  enqueueSeconds: Histogram
  /** Set by the server's BodyBudget as it changes. */
  bytesInFlight: Gauge
}

export function createCaptureMetrics(registry: Registry): CaptureMetrics {
  return {
    requests: new Counter({ name: 'capture_requests_total', help: 'Capture requests by HTTP status', labelNames: ['status'], registers: [registry] }),
    events: new Counter({ name: 'capture_events_total', help: 'Events accepted and stored in the ingest queue', registers: [registry] }),
    enqueueSeconds: new Histogram({
      name: 'capture_enqueue_seconds',
      help: 'Time from a parsed request to its events being stored in Redis',
      // Up to CAPTURE_ENQUEUE_TIMEOUT_MS (10 s by default) when Redis is slow.
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 10, 30, 60],
      registers: [registry],
    }),
    bytesInFlight: new Gauge({
      name: 'capture_body_bytes_in_flight',
      help: 'Bytes of request bodies held now, raw while read and decoded once decompressed (limit: CAPTURE_MAX_IN_FLIGHT_MB)',
      registers: [registry],
    }),
  }
}
