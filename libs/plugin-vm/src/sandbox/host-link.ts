/**
 * The only path from the sandbox to the host: three ivm References the host installs before the
 * runtime runs. They are captured here and removed from the global object so plugin code never
 * sees them.
 */

interface TransferOptions {
    arguments?: { copy?: boolean }
    result?: { copy?: boolean; promise?: boolean }
}

interface HostReference {
    applySync(receiver: undefined, args: unknown[], options?: TransferOptions): unknown
    apply(receiver: undefined, args: unknown[], options?: TransferOptions): Promise<unknown>
    applyIgnored(receiver: undefined, args: unknown[], options?: TransferOptions): void
}

export interface HostReply {
    ok: boolean
    value?: unknown
    error?: { name: string; message: string; code?: unknown }
}

const scope = globalThis as unknown as Record<string, unknown>
const link = scope.__ps_link as { sync: HostReference; async: HostReference }
delete scope.__ps_link

const COPY: TransferOptions = { arguments: { copy: true }, result: { copy: true } }
const COPY_PROMISE: TransferOptions = { arguments: { copy: true }, result: { copy: true, promise: true } }

export function hostError(error: { name: string; message: string; code?: unknown }): Error {
    const result = new Error(error.message) as Error & { code?: unknown }
    result.name = error.name
    if (error.code !== undefined) result.code = error.code
    return result
}

function unwrap(reply: HostReply): unknown {
    if (!reply.ok) throw hostError(reply.error ?? { name: 'Error', message: 'host call failed' })
    return reply.value
}

/** Blocks the isolate until the host answers; for cheap, synchronous host work (hashes, zlib). */
export function hostSync(op: string, args: unknown[]): unknown {
    return unwrap(link.sync.applySync(undefined, [op, args], COPY) as HostReply)
}

/** Returns a sandbox promise settled when the host's promise settles. */
export function hostAsync(op: string, args: unknown[]): Promise<unknown> {
    return (link.async.apply(undefined, [op, args], COPY_PROMISE) as Promise<HostReply>).then(unwrap)
}

/** Fire and forget (logs, metrics, captures); delivered before the current call's result. */
export function hostFire(op: string, args: unknown[]): void {
    link.sync.applyIgnored(undefined, [op, args], { arguments: { copy: true } })
}
