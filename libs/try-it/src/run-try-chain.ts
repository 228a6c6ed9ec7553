import type { IngestEvent } from '@plugin-server/core'
import { runEventChain, toPluginEvent, withIpProperty } from '@plugin-server/ingestion'
import { EXPORTING_METHODS, type BatchText, type PluginEvent } from '@plugin-server/plugin-vm'
import { dryDelivery } from './dry-delivery'
import type { TryStep } from './interfaces'
import type { TryPlugin } from './try-plugin'

export interface ChainRun {
  output: PluginEvent | null
  dropped: boolean
  steps: TryStep[]
}

/** A whole call that failed: its step already says why, in the dry run's words. */
class StepFailed extends Error {}

/**
 * The event's way through the plugins, decided by ingestion's own chain (runEventChain): each
 * plugin is set up when its turn comes and its processEvent output feeds the next (a failure keeps
 * the event as it was, null drops it and ends the run), the output is parsed and stamped as the
 * ingest worker would store it; then the stored event goes to onEvent (onSnapshot), exportEvents
 * and composeWebhook of every plugin that is set up; then each is torn down.
 */
export async function runTryChain(plugins: TryPlugin[], input: IngestEvent, maxEventChars?: number): Promise<ChainRun> {
  const steps: TryStep[] = []
  const started = new Set<TryPlugin>()
  const ready: TryPlugin[] = []
  const processSteps = new Map<TryPlugin, TryStep>()
  const start = async (plugin: TryPlugin): Promise<void> => {
    if (started.has(plugin)) return
    started.add(plugin)
    steps.push(...(await plugin.start()))
    if (plugin.ready) ready.push(plugin)
  }
  const [slot] = await runEventChain([input], plugins, {
    runs: async (plugin) => {
      await start(plugin)
      return plugin.ready && plugin.has('processEvent')
    },
    call: async (plugin, batch, count) => {
      const outcome = await plugin.run('processEvent', (instance, timeoutMs) => instance.processEventBatchText(batch, count, { timeoutMs }))
      steps.push(outcome.step)
      processSteps.set(plugin, outcome.step)
      if (!outcome.ok) throw new StepFailed(outcome.step.error ?? 'processEvent failed')
      return outcome.value as BatchText
    },
    deferred: () => ready.filter((p) => EXPORTING_METHODS.some((m) => p.has(m))).map((p) => p.label),
    maxEventChars,
    linkDone: async ({ link, inputs, dropped, failures }) => {
      const step = processSteps.get(link)!
      const [failure] = failures
      if (failure) {
        // A refused request the plugin let through is shown as not sent (see TryPlugin.run), not as an error.
        if (step.error === null && step.not_sent === undefined) link.fail(step, `${failure.error.name}: ${failure.error.message}`, failure.error.stack)
      } else {
        const last = dropped.length > 0 ? undefined : inputs[0].outputs.at(-1)
        const output = last?.output.json(last.index)
        step.output = link.shown(output ? JSON.parse(output) : null)
      }
    },
    // Returned, but not something ingestion could store: that plugin's step failed after all.
    invalid: async (link, failures) => {
      const step = processSteps.get(link)
      if (step) link.fail(step, failures[0].error.message)
    },
    // As ingestion writes it to the plugin's logs: a warning, the step still succeeded.
    ignored: async (link, message) => {
      const step = processSteps.get(link)
      if (step) link.warn(step, message)
    },
  })
  const dropped = slot.droppedBy !== null
  let output: PluginEvent | null = null
  if (!dropped) {
    // Session recordings skip the chain, so their plugins are set up here, for onSnapshot.
    for (const plugin of plugins) await start(plugin)
    // As the ingest worker stores it, and so as exporters get it.
    output = toPluginEvent(withIpProperty(slot.event))
    steps.push(...(await dryDelivery(ready, output)))
  }
  for (const plugin of ready) {
    if (plugin.alive && plugin.has('teardownPlugin'))
      steps.push((await plugin.run('teardownPlugin', (instance, timeoutMs) => instance.call('teardownPlugin', [], { timeoutMs }))).step)
  }
  return { output, dropped, steps }
}
