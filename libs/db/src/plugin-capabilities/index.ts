export { PluginVersionCapabilities, PluginVersionKey, versionKey } from './plugin-version-capabilities'
export { readVersionCapabilities } from './read-version-capabilities'
export { recordVersionCapabilities } from './record-version-capabilities'
export { readConfigCapabilities } from './read-config-capabilities'
