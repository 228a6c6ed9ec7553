import type { Args } from './args'
import { Facade, FacadeType, Member, ModuleSpec } from './facade'
import { googleClientOptions, pickOptions, sdkPath, settle } from './google-common'
import { UPLOAD_STREAM, UploadTarget } from './google-storage-upload'

const MODULE = '@google-cloud/storage'
const SCOPES = [
  'https://www.googleapis.com/auth/iam',
  'https://www.googleapis.com/auth/cloud-platform',
  'https://www.googleapis.com/auth/devstorage.full_control',
]

/** The parts of `@google-cloud/storage` the facades use; anything else of the SDK (uploads from host paths, signed URLs, read streams) stays out of reach. */
interface GcsFile {
  name: string
  save(data: Buffer | string, options?: Record<string, unknown>): Promise<unknown>
  download(): Promise<unknown>
  exists(): Promise<unknown>
  delete(): Promise<unknown>
  getMetadata(): Promise<unknown>
}
interface GcsBucket {
  name: string
  file(name: string): GcsFile
  exists(): Promise<unknown>
  getMetadata(): Promise<unknown>
}
interface GcsClient {
  bucket(name: string): GcsBucket
}
interface GcsSdk {
  Storage: new (options: Record<string, unknown>) => GcsClient
}

/** `file.save` options: what is written and how; no `onUploadProgress` callbacks or host paths. */
/** Retry settings as numbers and booleans; no `retryableErrorFn` (a function). */
const RETRY_OPTIONS = ['autoRetry', 'maxRetries', 'retryDelayMultiplier', 'totalTimeout', 'maxRetryDelay', 'idempotencyStrategy']
const SAVE_OPTIONS = ['contentType', 'metadata', 'resumable', 'validation', 'gzip', 'predefinedAcl', 'private', 'public']

function call<T extends object>(run: (target: T, args: Args) => Promise<unknown>): Member<T> {
  return (target, args) => {
    const callback = args.takeCallback()
    return settle(run(target, args), callback)
  }
}

/** The object's contents: a string or bytes (a Buffer or Uint8Array in the plugin). */
function contents(args: Args): Buffer | string {
  const data = args.at(0)
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data
  throw args.error('data must be a string or a Buffer')
}

const FILE: FacadeType<GcsFile> = {
  name: `${MODULE}.File`,
  methods: {
    save: call((f, args) => f.save(contents(args), pickOptions(args, 1, 'options', SAVE_OPTIONS))),
    download: call((f) => f.download()),
    exists: call((f) => f.exists()),
    delete: call((f) => f.delete()),
    getMetadata: call((f) => f.getMetadata()),
    createWriteStream: (f, args, ctx) =>
      new Facade(UPLOAD_STREAM, new UploadTarget(f, pickOptions(args, 0, 'options', SAVE_OPTIONS), ctx.held, ctx.warn, UPLOAD_STREAM.name)),
  },
  properties: { name: (f) => f.name },
}

const BUCKET: FacadeType<GcsBucket> = {
  name: `${MODULE}.Bucket`,
  methods: {
    file: (b, args) => new Facade(FILE, b.file(args.string(0, 'name'))),
    exists: call((b) => b.exists()),
    getMetadata: call((b) => b.getMetadata()),
  },
  properties: { name: (b) => b.name },
}

const STORAGE: FacadeType<GcsClient> = {
  name: `${MODULE}.Storage`,
  methods: { bucket: (s, args) => new Facade(BUCKET, s.bucket(args.string(0, 'name'))) },
}

const ROOT: FacadeType<GcsSdk> = {
  name: MODULE,
  constructors: {
    Storage: (sdk, args, ctx) => {
      const { autoRetry, maxRetries, retryOptions, ...options } = googleClientOptions(args, ctx.keys, sdkPath(MODULE), SCOPES, { retryOptions: 'object' })
      const retry = { ...(retryOptions as Record<string, unknown> | undefined) }
      for (const key of Object.keys(retry))
        if (!RETRY_OPTIONS.includes(key)) throw args.error(`option "retryOptions.${key}" is not available to plugins (allowed: ${RETRY_OPTIONS.join(', ')})`)
      // Storage 7 reads these only from retryOptions; PostHog's GCS plugin passes `autoRetry: false` at the top.
      if (autoRetry !== undefined) retry.autoRetry = autoRetry
      if (maxRetries !== undefined) retry.maxRetries = maxRetries
      // A custom endpoint gets no credentials by default; the plugin's key goes where the plugin says.
      const endpoint = options.apiEndpoint ? { useAuthWithCustomEndpoint: true } : {}
      return new Facade(STORAGE, new sdk.Storage({ ...options, ...endpoint, retryOptions: retry }))
    },
  },
}

/**
 * `@google-cloud/storage` for plugins: `new Storage({ projectId, credentials, apiEndpoint,
 * autoRetry, maxRetries, retryOptions })`, `bucket(name).file(name)`, `file.save(data, options)`,
 * `createWriteStream(options)` (one upload at end, see google-storage-upload.ts), `download`,
 * `exists`, `delete`, `getMetadata`. The SDK is required on first use.
 */
export const googleStorageSpec: ModuleSpec<GcsSdk> = {
  name: MODULE,
  load: () => require(MODULE) as GcsSdk,
  root: (sdk) => new Facade(ROOT, sdk),
  rootType: ROOT,
}
