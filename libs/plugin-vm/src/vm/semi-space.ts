import v8 from 'v8'

/**
 * Makes an isolate whose young generation's semi-spaces grow to `mb` each (0: isolated-vm's own
 * sizing). isolated-vm sizes the young generation from the memory limit, 2 MB in all at the default
 * 128 MB, so a busy plugin's isolate scavenges after about every 0.7 MB it allocates: with 3 plugins
 * 8 MB semi-spaces made the processEvent stage ~15 % cheaper in CPU, for ~11 MB more heap in each
 * busy isolate (root README, *processEvent stage*).
 * V8 reads --max-semi-space-size when it makes an isolate's heap, and the flag overrides the size
 * isolated-vm asks for. It is a process-wide flag, so it is set only while the isolate is made and
 * put back to 0 (V8's own sizing) after: the host's heap was sized at start, and host work threads
 * started later keep V8's sizing. An isolate's semi-spaces start small and grow only while it
 * allocates fast, so an idle config's isolate costs what it did.
 */
export function withSemiSpace<T>(mb: number, make: () => T): T {
  if (mb === 0) return make()
  v8.setFlagsFromString(`--max-semi-space-size=${mb}`)
  try {
    return make()
  } finally {
    v8.setFlagsFromString('--max-semi-space-size=0')
  }
}
