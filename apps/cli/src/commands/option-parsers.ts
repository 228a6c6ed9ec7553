import { InvalidArgumentError } from 'commander'
import { POSTGRES_INT_MAX } from '@plugin-server/db'

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

/** Ids and integers are Postgres `integer`s: past it the database would fail the query instead of naming the option. */
const MAX_INT = POSTGRES_INT_MAX

export function positiveInt(name: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${name} must be a positive integer`)
    if (Number(value) > MAX_INT) throw new InvalidArgumentError(`${name} must be at most ${MAX_INT}`)
    return Number(value)
  }
}

export function onOff(name: string): (value: string) => boolean {
  return (value) => {
    if (value !== 'on' && value !== 'off') throw new InvalidArgumentError(`${name} must be on or off`)
    return value === 'on'
  }
}

export function nonNegativeInt(name: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be 0 or a positive integer`)
    if (Number(value) > MAX_INT) throw new InvalidArgumentError(`${name} must be at most ${MAX_INT}`)
    return Number(value)
  }
}

export function integer(name: string): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`)
    if (Math.abs(Number(value)) > MAX_INT) throw new InvalidArgumentError(`${name} must be from ${-MAX_INT} to ${MAX_INT}`)
    return Number(value)
  }
}

/**
 * `key=value`, split at the first `=` so values may contain `=`; `key=` gives ''. Parsed in the
 * action, not as a commander argParser: commander echoes a rejected argument, which may be a secret.
 */
export function parseKeyValues(option: string, values: string[]): [string, string][] {
  return values.map((value) => {
    const at = value.indexOf('=')
    if (at <= 0) throw new Error(`${option} expects key=value (one of the values has no key or no "=")`)
    return [value.slice(0, at), value.slice(at + 1)]
  })
}
