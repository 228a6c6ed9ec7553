import type { Args } from './args'
import { Facade, FacadeType, Member, ModuleSpec } from './facade'
import { googleClientOptions, pickOptions, sdkPath, settle } from './google-common'

const MODULE = '@google-cloud/bigquery'
const SCOPES = ['https://www.googleapis.com/auth/bigquery']

/** The parts of `@google-cloud/bigquery` the facades use; anything else of the SDK stays out of reach. */
interface BqTable {
  id?: string
  insert(rows: unknown, options?: Record<string, unknown>): Promise<unknown>
  getMetadata(): Promise<unknown>
  setMetadata(metadata: unknown): Promise<unknown>
  exists(): Promise<unknown>
  delete(): Promise<unknown>
}
interface BqDataset {
  id?: string
  table(id: string, options?: Record<string, unknown>): BqTable
  createTable(id: string, options: unknown): Promise<[BqTable, unknown]>
  getMetadata(): Promise<unknown>
  exists(): Promise<unknown>
}
interface BqClient {
  projectId: string
  dataset(id: string, options?: Record<string, unknown>): BqDataset
  createDataset(id: string, options?: unknown): Promise<[BqDataset, unknown]>
  query(query: unknown): Promise<unknown>
}
interface BqSdk {
  BigQuery: new (options: Record<string, unknown>) => BqClient
}

/** `table.insert` options plugins use; `autoCreate`/`schema` (a table made as a side effect) are left out. */
const INSERT_OPTIONS = ['raw', 'createInsertId', 'partialRetries', 'skipInvalidRows', 'ignoreUnknownValues', 'templateSuffix']
const QUERY_OPTIONS = ['query', 'params', 'types', 'location', 'useLegacySql', 'maximumBytesBilled', 'dryRun', 'labels', 'jobTimeoutMs']

/** A method taking plain-data arguments and returning the SDK's promise, with the optional trailing callback. */
function call<T extends object>(run: (target: T, args: Args) => Promise<unknown>): Member<T> {
  return (target, args) => {
    const callback = args.takeCallback()
    return settle(run(target, args), callback)
  }
}

const TABLE: FacadeType<BqTable> = {
  name: `${MODULE}.Table`,
  methods: {
    insert: call((t, args) => {
      const rows = args.data(0, 'rows')
      if (rows === null || typeof rows !== 'object') throw args.error('rows must be an array of rows or one row')
      return t.insert(rows, pickOptions(args, 1, 'options', INSERT_OPTIONS))
    }),
    getMetadata: call((t) => t.getMetadata()),
    setMetadata: call((t, args) => t.setMetadata(args.record(0, 'metadata') ?? {})),
    exists: call((t) => t.exists()),
    delete: call((t) => t.delete()),
  },
  properties: { id: (t) => t.id },
}

/** `[sdkObject, apiResponse]` as the SDK resolves it, with the object replaced by its facade. */
function withFacade<S extends object>(type: FacadeType<S>): (result: [S, unknown]) => unknown[] {
  return ([object, response]) => [new Facade(type, object), response]
}

const DATASET: FacadeType<BqDataset> = {
  name: `${MODULE}.Dataset`,
  methods: {
    table: (d, args) => new Facade(TABLE, d.table(args.string(0, 'tableId'), pickOptions(args, 1, 'options', ['location']))),
    createTable: call((d, args) => d.createTable(args.string(0, 'tableId'), args.record(1, 'options') ?? {}).then(withFacade(TABLE))),
    getMetadata: call((d) => d.getMetadata()),
    exists: call((d) => d.exists()),
  },
  properties: { id: (d) => d.id },
}

const BIGQUERY: FacadeType<BqClient> = {
  name: `${MODULE}.BigQuery`,
  methods: {
    dataset: (b, args) => new Facade(DATASET, b.dataset(args.string(0, 'datasetId'), pickOptions(args, 1, 'options', ['location', 'projectId']))),
    createDataset: call((b, args) => b.createDataset(args.string(0, 'datasetId'), args.record(1, 'options') ?? {}).then(withFacade(DATASET))),
    query: call((b, args) => b.query(typeof args.at(0) === 'string' ? args.string(0, 'query') : pickOptions(args, 0, 'query', QUERY_OPTIONS))),
  },
  properties: { projectId: (b) => b.projectId },
}

const ROOT: FacadeType<BqSdk> = {
  name: MODULE,
  constructors: {
    BigQuery: (sdk, args, ctx) =>
      new Facade(BIGQUERY, new sdk.BigQuery(googleClientOptions(args, ctx.keys, sdkPath(MODULE), SCOPES, { location: 'string', userAgent: 'string' }))),
  },
}

/**
 * `@google-cloud/bigquery` for plugins: `new BigQuery({ projectId, credentials, apiEndpoint,
 * location, autoRetry, maxRetries })`, `dataset(id).table(id)`, `table.insert(rows, options)`,
 * `getMetadata`, `setMetadata`, `exists`, `delete`, `dataset.createTable`, `createDataset`,
 * `query`. The SDK is required on first use, not when the worker starts.
 */
export const googleBigQuerySpec: ModuleSpec<BqSdk> = {
  name: MODULE,
  load: () => require(MODULE) as BqSdk,
  root: (sdk) => new Facade(ROOT, sdk),
  rootType: ROOT,
}
