import assert from 'node:assert/strict'
import { deliver, DeliveryTarget } from '@plugin-server/export'
import { PLUGIN_CAPTURE_LIB, toProcessedEvent } from '@plugin-server/plugin-runtime'
import { loadCode } from '../plugin-vm/helpers'
import type { PluginInstance } from '@plugin-server/plugin-vm'
import { testEvent } from './export-setup'

describe('deliver (one attempt through one method of one config)', () => {
  const events = [toProcessedEvent(testEvent(1))]
  const unsent = async () => assert.fail('no webhook is composed here')

  it("rejects with the load's own error when the config's instance cannot be had, for exportEvents as for onEvent, so the job's attempt is retried rather than the batch kept as a dead letter", async () => {
    // What the plugin manager throws when a crowded exporter loads the config again and its attachments are not read (Postgres failing over).
    const unloadable: DeliveryTarget = {
      use: async () => {
        throw new Error('Connection terminated due to connection timeout')
      },
    }
    for (const method of ['exportEvents', 'onEvent'] as const)
      await assert.rejects(deliver(unloadable, method, events, unsent), { message: 'Connection terminated due to connection timeout' }, method)
  })

  it("answers exportEvents' own failure as the batch's outcome: an error thrown by the call is not retried", async () => {
    const instance = { call: async () => Promise.reject(new Error('destination refused the rows')) } as unknown as PluginInstance
    const target: DeliveryTarget = { use: (fn) => fn(instance) }
    assert.deepEqual(await deliver(target, 'exportEvents', events, unsent), {
      delivered: [],
      retry: null,
      failed: { events, errors: 1, message: 'destination refused the rows' },
    })
  })

  it('lets onEvent of an event a plugin captured capture one event, and of any other event PLUGIN_CAPTURES_PER_EVENT', async () => {
    const { host, instance } = await loadCode(
      `export function onEvent(event) { for (let i = 0; i < 50; i++) posthog.capture('from ' + event.event, { i }) }`,
      {},
      { capturesPerEvent: 10 },
    )
    try {
      const client = toProcessedEvent({ ...testEvent(1), event: 'client' })
      const captured = toProcessedEvent({ ...testEvent(1), event: 'captured', properties: { $lib: PLUGIN_CAPTURE_LIB } })
      const outcome = await deliver({ use: (fn) => fn(instance) }, 'onEvent', [client, captured], unsent)
      assert.equal(outcome.delivered.length, 2)
      assert.deepEqual(
        ['from client', 'from captured'].map((name) => host.captures.filter((c) => c.event === name).length),
        [10, 1],
      )
    } finally {
      instance.dispose()
    }
  })
})
