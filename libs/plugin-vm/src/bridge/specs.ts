import { awsSdkSpec } from './aws-sdk'
import type { ModuleSpec } from './facade'
import { googleBigQuerySpec } from './google-bigquery'
import { googlePubSubSpec } from './google-pubsub'
import { googleStorageSpec } from './google-storage'
import { pgSpec } from './pg'
import { snowflakeSpec } from './snowflake'

/**
 * The bridged modules that have a spec. A module listed in BRIDGED_MODULES without one here fails
 * to load with "module <name> is not installed on this server"; adding one is one spec file.
 */
export const MODULE_SPECS: Readonly<Record<string, ModuleSpec>> = {
  pg: pgSpec as ModuleSpec,
  '@google-cloud/bigquery': googleBigQuerySpec as ModuleSpec,
  '@google-cloud/storage': googleStorageSpec as ModuleSpec,
  '@google-cloud/pubsub': googlePubSubSpec as ModuleSpec,
  'aws-sdk': awsSdkSpec as ModuleSpec,
  'snowflake-sdk': snowflakeSpec as ModuleSpec,
}

/** The members of a bridged module's root (`S3`, `config` of aws-sdk); undefined for a module without a spec. */
export function offeredMembers(module: string): readonly string[] | undefined {
  const spec = Object.prototype.hasOwnProperty.call(MODULE_SPECS, module) ? MODULE_SPECS[module] : undefined
  if (spec === undefined) return undefined
  const { constructors = {}, methods = {}, properties = {} } = spec.rootType
  return [...Object.keys(constructors), ...Object.keys(methods), ...Object.keys(properties)]
}
