import type { NewAttachment } from './configs'

export interface PluginEvent {
  event: string
  [key: string]: unknown
}

export type TryTarget =
  { plugin_config_id: number } | { plugin_id: number | string; config?: Record<string, string>; attachments?: Record<string, NewAttachment> } | { chain: true }

export interface TryRequest {
  event: PluginEvent
  target: TryTarget
}

export interface TryHostCall {
  call: string
  args: unknown[]
  performed: boolean
  result?: unknown
  error?: string
}

export interface TryStep {
  plugin_config_id: number | null
  plugin: string
  method: string
  duration_ms: number
  output?: unknown
  error: string | null
  logs: { level: string; message: string }[]
  host_calls: TryHostCall[]
}

export interface TryResult {
  input: PluginEvent
  output: PluginEvent | null
  dropped: boolean
  steps: TryStep[]
}
