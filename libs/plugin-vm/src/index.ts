export { EXPORTING_METHODS, PLUGIN_METHOD_NAMES } from './interfaces'
export type {
  PluginEvent,
  PluginConfigField,
  PluginJson,
  PluginSource,
  PluginMethodName,
  MetricOperation,
  PluginLimitKind,
  PluginAttachment,
  LogLevel,
  PluginLogEntry,
  PluginCapture,
  PluginJobRequest,
  HttpResponseData,
  HttpRequestInit,
  ApiRequest,
  ResponseReading,
  PluginCache,
  CacheSet,
  PluginStorage,
  PluginCursor,
  PluginHost,
  StoreCapability,
  PluginInstanceOptions,
  SharedBounds,
  SerializedPluginError,
  BatchEventResult,
  BatchJsonResult,
  BatchText,
  PluginInstance,
  CallOptions,
  PluginVm,
  EvictionReason,
} from './interfaces'
export { PluginDisposedError, PluginError, PluginLimitError, PluginLoadError, PluginStoreError } from './errors'
export { readPlugin, sourceFromFiles } from './load/read-plugin'
export type { SourceOptions } from './load/read-plugin'
export { pluginStackFrames } from './load/plugin-stack-frames'
export { MAX_MAPPED_POSITIONS } from './load/stack-map'
export { readPluginFiles, readArchiveBuffer } from './load/read-files'
export { parsePluginJson } from './load/plugin-json'
export { BRIDGED_MODULES } from './modules'
export { IsolatedVmPluginVm } from './vm/isolated-vm-plugin-vm'
export { withSemiSpace } from './vm/semi-space'
export { liveIsolateCount, LiveIsolates } from './vm/live-isolates'
export { ResultCollector, resultCollector } from './vm/result-collector'
export { prepareSandboxRuntime, runtimeSnapshot, runtimeSnapshotFailure } from './vm/runtime-snapshot'
export { LocalHost, LocalHostOptions } from './local/local-host'
export { ENTRY_OVERHEAD_BYTES, MemoryCache } from './local/memory-cache'
export type { CacheWrite, MemoryCacheOptions } from './local/memory-cache'
export { PluginPool } from './pool'
export { AddressPolicy, parseAllowedHosts } from './net/address-policy'
export { FetchGuard, fetchGuard } from './net/fetch-guard'
export { FetchRefusedError } from './net/fetch-refused-error'
export { guardedFetch, readBody } from './net/guarded-fetch'
export type { GuardedFetchOptions } from './net/guarded-fetch'
export type { ByteBudget, SharedByteBudget } from './byte-budget'
export type { Reserve } from './reserve'
export { CapabilityBridge } from './bridge/capability-bridge'
export { Facade, FacadeMembers, FacadeType, ModuleSpec } from './bridge/facade'
export { MODULE_SPECS, offeredMembers } from './bridge/specs'
export { withAddressPolicy, outsideAddressPolicy, SocketCount, holdingSocket, MAX_SOCKETS_PER_INSTANCE, MAX_FETCHES_PER_INSTANCE } from './net/socket-guard'
export { SocketLimitError } from './net/socket-limit-error'
export { usePluginDnsServers } from './net/name-resolver'
export { closeToPlugins, ClosedServices, ANSWER_TIMEOUT_MS, FLEET_SERVICES_RECHECK_MS } from './net/fleet-services'
export type { FleetService } from './net/fleet-services'
export { PluginCapabilities, capabilitiesOf, declaredPublicJobs } from './capabilities/plugin-capabilities'
export { MAX_STORAGE_CALLS_PER_INSTANCE } from './vm/host-dispatcher'
export { windowOver } from './vm/window-over'
