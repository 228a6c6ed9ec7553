import { hostSync } from './host-link'

/** jsonwebtoken runs on the host (it needs node crypto); calls are synchronous like the original. */
function withCallback(op: string, args: unknown[], callback: unknown): unknown {
  if (typeof callback !== 'function') return hostSync('jwt', [op, ...args])
  let result: unknown
  let error: unknown = null
  try {
    result = hostSync('jwt', [op, ...args])
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
    decode: (token: unknown, opts?: unknown) => hostSync('jwt', ['decode', token, opts]),
  }
  return { ...jwt, default: jwt }
}
