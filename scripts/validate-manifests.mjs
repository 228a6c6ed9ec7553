#!/usr/bin/env node
// Validates rendered Kubernetes manifests offline against the Kubernetes, KEDA and Prometheus
// Operator schemas (kubernetes-models). Usage: helm template ... | node scripts/validate-manifests.mjs
// or with file arguments. Prints a JSON summary; exits 1 when any object is invalid or of a kind
// it has no schema for (an object nothing checked is as bad as an invalid one).
// ESM because kubernetes-models 5 and its CRD packages ship only ES modules.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseAllDocuments } from 'yaml'

// apiVersion -> module directory of its models.
const GROUPS = {
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
}
const moduleFor = (apiVersion) => GROUPS[apiVersion] ?? `kubernetes-models/${apiVersion}`
// MODELS_NODE_MODULES=<dir>: take the models from another node_modules (trying them uninstalled).
const load = (specifier) =>
  process.env.MODELS_NODE_MODULES ? import(pathToFileURL(join(process.env.MODELS_NODE_MODULES, `${specifier}.js`)).href) : import(specifier)

const files = process.argv.slice(2)
const text = files.length > 0 ? files.map((f) => readFileSync(f, 'utf8')).join('\n---\n') : readFileSync(0, 'utf8')
const errors = []
const kinds = {}
let validated = 0
for (const doc of parseAllDocuments(text)) {
  if (doc.errors.length > 0) {
    errors.push({ object: '(yaml)', error: doc.errors.map((e) => e.message).join('; ') })
    continue
  }
  const object = doc.toJS()
  if (object === null || object === undefined) continue
  const name = `${object.kind ?? '?'}/${object.metadata?.name ?? '?'}`
  if (!object.apiVersion || !object.kind) {
    errors.push({ object: name, error: 'no apiVersion or kind' })
    continue
  }
  let Model
  try {
    Model = (await load(`${moduleFor(object.apiVersion)}/${object.kind}`))[object.kind]
  } catch (err) {
    errors.push({ object: name, error: `no schema for ${object.apiVersion} ${object.kind}: ${err.message.split('\n')[0]}` })
    continue
  }
  try {
    new Model(object).validate()
    validated++
    kinds[`${object.apiVersion} ${object.kind}`] = (kinds[`${object.apiVersion} ${object.kind}`] ?? 0) + 1
  } catch (err) {
    errors.push({ object: name, error: err.message })
  }
}
process.stdout.write(JSON.stringify({ validated, kinds, errors }, null, 2) + '\n')
process.exit(errors.length > 0 || validated === 0 ? 1 : 0)
