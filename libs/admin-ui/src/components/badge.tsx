import type { ComponentChildren } from 'preact'

export type Tone = 'ok' | 'warn' | 'error' | 'info' | 'muted'

const TONES: Record<string, Tone> = {
  ready: 'ok',
  completed: 'ok',
  done: 'ok',
  ok: 'ok',
  enabled: 'ok',
  set: 'ok',
  installed: 'ok',
  updated: 'info',
  running: 'info',
  queued: 'info',
  pending: 'info',
  retrying: 'warn',
  replayed: 'muted',
  failed: 'error',
  error: 'error',
  disabled: 'muted',
  unchanged: 'muted',
  unknown: 'muted',
  'not set': 'muted',
}

/** The tone of a state name the API uses (job, setup, run, secret); unknown names are muted. */
export function toneOf(state: string): Tone {
  return TONES[state] ?? 'muted'
}

interface Props {
  tone?: Tone
  /** Picks the tone when `tone` is not given, and is the text when there are no children. */
  state?: string
  testid?: string
  children?: ComponentChildren
}

export function Badge({ tone, state, testid, children }: Props) {
  return (
    <span class={`badge badge-${tone ?? toneOf(state ?? '')}`} data-testid={testid}>
      {children ?? state}
    </span>
  )
}
