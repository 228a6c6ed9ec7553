import type { Args } from './args'

/** The fields of a service account key JSON file the auth client reads; the rest of the file is refused. */
const KEY_FIELDS = new Set([
  'type',
  'project_id',
  'private_key_id',
  'private_key',
  'client_email',
  'client_id',
  'auth_uri',
  'token_uri',
  'auth_provider_x509_cert_url',
  'client_x509_cert_url',
  'universe_domain',
])

/** Where google-auth-library sends every service account token request, whatever the key file says. */
const GOOGLE_TOKEN_URLS = new Set(['https://oauth2.googleapis.com/token', 'https://www.googleapis.com/oauth2/v4/token'])

export interface ServiceAccountKey {
  client_email: string
  private_key: string
  private_key_id?: string
  project_id?: string
  token_uri?: string
}

interface RequestConfig {
  url?: string | URL
}
interface Interceptors {
  request: { add(interceptor: { resolved(config: RequestConfig): Promise<RequestConfig> }): void }
}
/** The parts of google-auth-library's JWT client used here. */
export interface JwtClient {
  /** Gaxios itself (google-auth-library 10), or a DefaultTransporter holding it (9, Storage's copy). */
  transporter: { interceptors?: Interceptors; instance?: { interceptors: Interceptors } }
}
interface AuthLibrary {
  JWT: new (options: { email: string; key: string; keyId?: string; scopes: string[] }) => JwtClient
}

/**
 * `options.credentials` as a service account key: plain strings, only the key file's fields, and
 * only `type: "service_account"`. Other credential types would make google-auth-library read files
 * (`credential_source.file`), run programs (`executable`) or call other services on the host.
 */
export function serviceAccountKey(args: Args, value: unknown): ServiceAccountKey {
  if (value === undefined || value === null) {
    throw args.error(
      'options.credentials is required (the service account key JSON, e.g. JSON.parse(attachments.googleCloudKeyJson.contents.toString())): the server never uses its own Google credentials',
    )
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw args.error('options.credentials must be the service account key JSON object')
  const key: Record<string, string> = {}
  for (const [name, field] of Object.entries(value)) {
    if (!KEY_FIELDS.has(name)) throw args.error(`options.credentials.${name} is not available to plugins (allowed: ${[...KEY_FIELDS].join(', ')})`)
    if (typeof field !== 'string') throw args.error(`options.credentials.${name} must be a string`)
    key[name] = field
  }
  if (key.type !== undefined && key.type !== 'service_account')
    throw args.error(`options.credentials.type must be "service_account" (got "${key.type}"): other credential types are not available to plugins`)
  for (const name of ['client_email', 'private_key']) if (!key[name]) throw args.error(`options.credentials.${name} is required`)
  if (key.token_uri !== undefined && !/^https?:\/\//i.test(key.token_uri)) throw args.error('options.credentials.token_uri must be an http(s) URL')
  return key as unknown as ServiceAccountKey
}

/**
 * An auth client built from the plugin's key only, from the google-auth-library the SDK itself
 * uses, so the SDK never looks for Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
 * gcloud's files, the metadata server). Token requests go to the key's `token_uri`, which
 * google-auth-library ignores: a key made for another token endpoint (a test stand-in) works
 * without anything reaching Google. Its sockets pass the address policy like any other.
 */
export function serviceAccountClient(sdkPath: string, key: ServiceAccountKey, scopes: string[]): JwtClient {
  const library = require(require.resolve('google-auth-library', { paths: [sdkPath] })) as AuthLibrary
  const client = new library.JWT({ email: key.client_email, key: key.private_key, keyId: key.private_key_id, scopes })
  const tokenUri = key.token_uri
  if (tokenUri !== undefined && !GOOGLE_TOKEN_URLS.has(tokenUri)) {
    const interceptors = client.transporter.interceptors ?? client.transporter.instance?.interceptors
    if (!interceptors) throw new Error('this google-auth-library has no request interceptors: the key file token_uri cannot be used')
    interceptors.request.add({
      resolved: async (config) => {
        // Gaxios 7 gives a URL object and expects one back (its error redaction reads searchParams).
        if (config.url !== undefined && GOOGLE_TOKEN_URLS.has(String(config.url))) config.url = typeof config.url === 'string' ? tokenUri : new URL(tokenUri)
        return config
      },
    })
  }
  return client
}
