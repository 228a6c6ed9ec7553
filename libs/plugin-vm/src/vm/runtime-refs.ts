import ivm from 'isolated-vm'

/**
 * Fetched at load, all in one round trip: the calls every plugin gets (a first batch or setupPlugin
 * starts at once, not after a fetch), and those whose calls must leave in the order the host makes
 * them (an SDK callback carries a type's shape only the first time, see sandbox/bridge.ts, so it
 * must reach the isolate before any later reply naming that type).
 */
const AT_LOAD = ['call', 'processBatch', 'fireTimer', 'runCallback', 'releaseCallback'] as const
type AtLoad = (typeof AT_LOAD)[number]
/** The sandbox runtime's functions (sandbox/entry.ts `__ps_runtime`) the host calls. */
export type RuntimeFunction = AtLoad | 'runJob' | 'collect' | 'collectGarbage'

/**
 * References to the runtime's functions. The rest are fetched on first use: most configs never run
 * a job or need a GC or an unhandled rejection collected, and each reference fetched at load was a
 * round trip into the isolate from the host thread that loads every config. Fetching after
 * plugin code has run changes nothing: the runtime object left the global before any did (nothing
 * in the isolate leads to it) and these are its own properties, which no prototype the plugin
 * changed can shadow.
 */
export class RuntimeRefs {
  private readonly fetched = new Map<RuntimeFunction, Promise<ivm.Reference>>()

  private constructor(
    private readonly api: ivm.Reference<Record<string, unknown>>,
    private readonly atLoad: Record<AtLoad, ivm.Reference>,
  ) {}

  static async fetch(api: ivm.Reference<Record<string, unknown>>): Promise<RuntimeRefs> {
    const refs = await Promise.all(AT_LOAD.map((name) => api.get(name, { reference: true }) as Promise<ivm.Reference>))
    return new RuntimeRefs(api, Object.fromEntries(AT_LOAD.map((name, i) => [name, refs[i]])) as Record<AtLoad, ivm.Reference>)
  }

  /** One of the functions fetched at load. */
  loaded(name: AtLoad): ivm.Reference {
    return this.atLoad[name]
  }

  /** The reference when it is at hand (fetched at load), so the call leaves without waiting a turn. */
  now(name: RuntimeFunction): ivm.Reference | undefined {
    return isAtLoad(name) ? this.atLoad[name] : undefined
  }

  get(name: RuntimeFunction): Promise<ivm.Reference> {
    if (isAtLoad(name)) return Promise.resolve(this.atLoad[name])
    let ref = this.fetched.get(name)
    if (ref === undefined) {
      ref = this.api.get(name, { reference: true }) as Promise<ivm.Reference>
      this.fetched.set(name, ref)
    }
    return ref
  }

  /** Calls `name` without waiting for it (isolated-vm's applyIgnored), unless the isolate is gone by then. */
  ignored(name: RuntimeFunction, args: unknown[], isolate: ivm.Isolate): void {
    this.get(name).then(
      (ref) => {
        if (!isolate.isDisposed) ref.applyIgnored(undefined, args)
      },
      // Fetching fails only once the isolate is disposed: nothing left to call.
      () => undefined,
    )
  }
}

function isAtLoad(name: RuntimeFunction): name is AtLoad {
  return (AT_LOAD as readonly string[]).includes(name)
}
