import { awsOptions, AwsOptions, s3ClientOptions } from './aws-sdk-config'
import { AwsS3Client, S3_CLIENT, S3Target } from './aws-sdk-s3'
import { Facade, FacadeType, ModuleSpec } from './facade'

/** The parts of aws-sdk v2 the facades use. */
export interface AwsSdk {
  S3: new (options: AwsOptions) => AwsS3Client
  Credentials: new (options: AwsOptions) => unknown
}

/**
 * One plugin's `aws-sdk` import. `AWS.config.update(...)` changes these defaults, which its later
 * `new S3()` calls start from; the SDK's own global AWS.config is never touched.
 */
class AwsRoot {
  defaults: AwsOptions = {}

  constructor(readonly sdk: AwsSdk) {}
}

const CONFIG: FacadeType<AwsRoot> = {
  name: 'aws-sdk.Config',
  methods: {
    update: (root, args, ctx) => {
      root.defaults = { ...root.defaults, ...awsOptions(args, 0) }
      ctx.warn("aws-sdk: AWS.config.update applies to this plugin's clients only, not to the server's AWS configuration")
    },
  },
}

const AWS: FacadeType<AwsRoot> = {
  name: 'aws-sdk',
  constructors: {
    S3: (root, args) => {
      const options = s3ClientOptions(args, { ...root.defaults, ...awsOptions(args, 0) }, root.sdk.Credentials)
      return new Facade(S3_CLIENT, new S3Target(new root.sdk.S3(options)))
    },
  },
  properties: { config: (root) => new Facade(CONFIG, root) },
}

/** Only S3 and the core: a third of the time and memory of `require('aws-sdk')` with its ~400 clients. */
function loadAwsSdk(): AwsSdk {
  // The SDK's end-of-support notice would go to the worker's stderr on every load.
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1'
  const S3 = require('aws-sdk/clients/s3') as AwsSdk['S3']
  const core = require('aws-sdk/global') as { Credentials: AwsSdk['Credentials'] }
  ownBucketRegionCaches(S3.prototype)
  return { S3, Credentials: core.Credentials }
}

/**
 * The SDK caches each bucket's region, taken from any answer's `x-amz-bucket-region` (or an error
 * body's, or createBucket's own LocationConstraint), in one object on S3.prototype, keyed by bucket
 * name alone: shared by every client in the process. One plugin's own server then named the region,
 * and on amazonaws.com the host, that another team's client signed and sent its next request for a
 * bucket of that name to. Each S3 object gets its own on first use instead: a plugin's client, and
 * the copy of it ManagedUpload makes for each `upload`.
 */
function ownBucketRegionCaches(prototype: object): void {
  const own = (target: object, value: Record<string, string>) =>
    Object.defineProperty(target, 'bucketRegionCache', { value, writable: true, configurable: true, enumerable: false })
  Object.defineProperty(prototype, 'bucketRegionCache', {
    configurable: true,
    get(this: object) {
      const cache: Record<string, string> = {}
      own(this, cache)
      return cache
    },
    set(this: object, value: Record<string, string>) {
      own(this, value)
    },
  })
}

/**
 * `aws-sdk` (v2) for plugins: `new S3(options)` (also `aws-sdk/clients/s3`) with upload, putObject,
 * getObject, headObject, listObjects(V2), headBucket, deleteObject(s), copyObject and createBucket,
 * each with a node-style callback or `.promise()`. Credentials only from the plugin's options.
 */
export const awsSdkSpec: ModuleSpec<AwsSdk> = {
  name: 'aws-sdk',
  load: loadAwsSdk,
  root: (sdk) => new Facade(AWS, new AwsRoot(sdk)),
  rootType: AWS,
  paths: { 'aws-sdk/clients/s3': 'S3' },
}
