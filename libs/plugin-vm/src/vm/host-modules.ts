import { bridgedRoot } from '../modules'
import type { AddressPolicy } from '../net/address-policy'
import { guardPg } from '../net/guarded-pg'

/**
 * Loads a bridged SDK on the host the first time a plugin asks for it. The real `pg` is wrapped so
 * its connections obey the fetch address policy; an override is host code and is taken as given.
 */
export function loadHostModule(name: string, override?: (name: string) => unknown, policy?: AddressPolicy): unknown {
  if (bridgedRoot(name) === undefined) throw new Error(`module "${name}" is not available to plugins`)
  // Inner files of pg would hand out the unguarded Client.
  if (policy && bridgedRoot(name) === 'pg' && name !== 'pg') throw new Error(`module "${name}" is not available to plugins; import "pg"`)
  if (override) {
    const found = override(name)
    if (found === undefined) throw new Error(`module ${name} is not installed on this server`)
    return found
  }
  try {
    const loaded: unknown = require(name)
    return name === 'pg' && policy ? guardPg(loaded as Parameters<typeof guardPg>[0], policy) : loaded
  } catch (error) {
    const e = error as { code?: string; message?: string }
    if (e.code === 'MODULE_NOT_FOUND' && e.message?.includes(`'${name}'`)) {
      throw new Error(`module ${name} is not installed on this server`)
    }
    throw error
  }
}
