import { capabilitiesOf, IsolatedVmPluginVm, LocalHost, PluginCapabilities, PluginSource, PluginVm } from '@plugin-server/plugin-vm'

/** Enough to evaluate a module; exports are known once its top-level code has run. */
const LEARN_LIMITS = { memoryLimitMb: 64, timeoutMs: 5000 }

/**
 * What a plugin version exports, learned by evaluating its module once in a throwaway isolate: no
 * setupPlugin, no config, no attachments, and a host that refuses network, so nothing the plugin
 * does on setup happens here. Rejects when the module does not evaluate (the caller decides what an
 * unknown version means).
 */
export async function learnCapabilities(source: PluginSource, vm: PluginVm = new IsolatedVmPluginVm()): Promise<PluginCapabilities> {
  const host = new LocalHost({
    fetch: async () => {
      throw new Error('network is not available while a plugin version is inspected')
    },
  })
  const instance = await vm.load(source, host, { configId: `capabilities:${source.name}`, ...LEARN_LIMITS })
  try {
    return capabilitiesOf(instance, source.pluginJson)
  } finally {
    instance.dispose()
  }
}
