/**
 * Both sides of the isolate boundary agree on this: every call result the sandbox hands back ends
 * with the number of fire-and-forget host calls (logs, captures, metrics, timers) it has sent so
 * far, in exactly this many digits (sandbox/host-link.ts `stamped`, vm/fire-fence.ts `splitStamp`).
 */
export const STAMP_DIGITS = 15
