/** EventBatcher.add refused: the events it sent the queue and has no answer for yet hold its limit already. */
export class QueueBacklogError extends Error {
  constructor(
    readonly unacknowledgedBytes: number,
    readonly limitBytes: number,
  ) {
    super(`the ingest queue has not acknowledged ${unacknowledgedBytes} bytes of events sent to it, the limit being ${limitBytes}`)
    this.name = 'QueueBacklogError'
  }
}
