import { argsSize, hostWork } from './host-link'

/** sign and verify always go to a host worker thread: a key's cost is not its size (host-work.ts). */
function run(op: string, args: unknown[]): unknown {
  const size = op === 'decode' ? argsSize(args) : Infinity
  return hostWork('jwt', [op, ...args], size)
}

/** jsonwebtoken runs on the host (it needs node crypto); calls are synchronous like the original. */
function withCallback(op: string, args: unknown[], callback: unknown): unknown {
  if (typeof callback !== 'function') return run(op, args)
  let result: unknown
  let error: unknown = null
  try {
    result = run(op, args)
  } catch (e) {
    error = e
  }
  void Promise.resolve().then(() => (callback as (e: unknown, r?: unknown) => void)(error, result))
  return undefined
}

function options(value: unknown): unknown {
  return typeof value === 'function' ? undefined : value
}

export function createJwt(): Record<string, unknown> {
  const jwt = {
    sign: (payload: unknown, secret: unknown, opts?: unknown, cb?: unknown) =>
      withCallback('sign', [payload, secret, options(opts)], typeof opts === 'function' ? opts : cb),
    verify: (token: unknown, secret: unknown, opts?: unknown, cb?: unknown) =>
      withCallback('verify', [token, secret, options(opts)], typeof opts === 'function' ? opts : cb),
    decode: (token: unknown, opts?: unknown) => run('decode', [token, opts]),
  }
  return { ...jwt, default: jwt }
}
