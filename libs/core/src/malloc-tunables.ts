/**
 * The glibc malloc setting every role runs with (the image sets GLIBC_TUNABLES to it; the demo, the
 * soak and chaos runs, the benches and a re-executed CLI pass it to the processes they start).
 *
 * Why: glibc raises its mmap threshold each time a large block (a request body, a gunzipped batch,
 * an isolate's compile zone) is freed, up to 32 MB, and its trim threshold to twice that; blocks
 * below the raised threshold then come from the main heap, whose freed pages are kept. On Node 24
 * the soak run's capture and job-worker grew RSS by 117 and 233 MB/h with a flat heap (heap
 * snapshots 6 minutes apart: 28.10 and 28.16 MB); calling malloc_trim(0) in them by hand gave back
 * 88 and 91 MB (capture 202 -> 114 MB, job-worker 234 -> 143 MB). Setting the trim threshold fixes
 * both thresholds (large blocks are mmapped and unmapped when freed, the top of the heap is given
 * back above 128 KB), and capture and job-worker stayed at their start-up RSS.
 */
export const GLIBC_MALLOC_TUNABLES = 'glibc.malloc.trim_threshold=131072'
