/**
 * What this server tells posthog-js about a project. Field names and meanings follow posthog-js'
 * `RemoteConfig` (@posthog/browser-common): absent fields would leave the SDK on its last known
 * (or most cautious) value, e.g. autocapture stays off until `autocapture_opt_out` arrives,
 * except where noted.
 */
export interface RemoteConfig {
  token: string
  supportedCompression: string[]
  /** No feature flags here: the SDK can skip /flags on first load. */
  hasFeatureFlags: false
  autocapture_opt_out: false
  autocaptureExceptions: false
  captureDeadClicks: false
  capturePerformance: false
  heatmaps: false
  productTours: false
  conversations: false
  /** Where events go, relative to the SDK's api_host: capture's own endpoint. */
  analytics: { endpoint: string }
  elementsChainAsString: true
  /** Off unless an endpoint that stores recordings is configured (capture itself stores none). */
  sessionRecording: false | { endpoint: string }
  defaultIdentifiedOnly: true
  isAuthenticated: false
  siteApps: []
  toolbarParams: Record<string, never>
}

export interface SdkSettings {
  /** Path (on the SDK's api_host) that accepts session recordings, or null for recording off. */
  sessionRecordingEndpoint: string | null
}

export function remoteConfig(token: string, settings: SdkSettings): RemoteConfig {
  return {
    token,
    // Both names for gzip; the parser accepts gzip bodies with or without the query flag.
    supportedCompression: ['gzip', 'gzip-js'],
    hasFeatureFlags: false,
    autocapture_opt_out: false,
    autocaptureExceptions: false,
    captureDeadClicks: false,
    capturePerformance: false,
    heatmaps: false,
    // `surveys` is left out on purpose: posthog-js fetches its surveys script from the api host
    // whenever the field is present (even `false`), and capture serves no scripts.
    productTours: false,
    conversations: false,
    analytics: { endpoint: '/i/v0/e/' },
    elementsChainAsString: true,
    sessionRecording: settings.sessionRecordingEndpoint === null ? false : { endpoint: settings.sessionRecordingEndpoint },
    defaultIdentifiedOnly: true,
    isAuthenticated: false,
    siteApps: [],
    toolbarParams: {},
  }
}

/**
 * The script form (`/array/<token>/config.js`) that posthog-js' loader adds as a <script>: it
 * leaves the config where the SDK looks for it. JSON.stringify output is a valid JS expression;
 * `<` is escaped so no value can close a surrounding script element.
 */
export function remoteConfigScript(config: RemoteConfig): string {
  const json = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c')
  return [
    '(function () {',
    '  window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {};',
    `  window._POSTHOG_REMOTE_CONFIG[${json(config.token)}] = { config: ${json(config)}, siteApps: [] };`,
    '})();',
    '',
  ].join('\n')
}
