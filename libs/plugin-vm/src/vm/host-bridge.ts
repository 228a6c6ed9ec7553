/**
 * Host side of bridged modules: the capability bridge (src/bridge/). The name stays for the
 * instance and dispatcher that hold one per isolate.
 */
export { CapabilityBridge as HostModuleBridge } from '../bridge/capability-bridge'
export type { CapabilityBridgeOptions as HostModuleBridgeOptions } from '../bridge/capability-bridge'
