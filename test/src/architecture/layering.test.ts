import assert from 'node:assert/strict'
import path from 'node:path'
import { REPO_ROOT } from '../harness/processes'
import { checkLayering, Violation } from './layering'

const WRONG = path.join(REPO_ROOT, 'test/fixtures/architecture/wrong-imports')

describe('Layering (CONTRIBUTING.md: core, db, secrets → plugin-vm → plugin-runtime, management → ingestion/export/scheduling/capture → admin-api → apps)', () => {
  const wrong = checkLayering(WRONG)
  const found = (rule: Violation['rule'], file: string) => wrong.filter((v) => v.rule === rule && v.file === file)

  it('finds no upward or sideways import, no import of internals, no undeclared dependency, no run-time cycle and no export * in a package index in this repository', () => {
    assert.deepEqual(checkLayering(REPO_ROOT), [])
  })

  it('fails a lib importing a lib above it, naming both layers', () => {
    assert.deepEqual(
      found('upward import', 'libs/core/src/index.ts').map((v) => v.detail),
      ['core (layer 0) imports plugin-runtime (layer 3)'],
    )
  })

  it('fails an import of a package missing from the importer’s package.json', () => {
    assert.equal(found('undeclared dependency', 'libs/core/src/index.ts').length, 1)
  })

  it('fails an app importing a lib’s internals by package path', () => {
    assert.match(
      found('internal import', 'apps/scheduler/src/index.ts')[0]?.detail ?? '',
      /@plugin-server\/plugin-runtime\/src\/plugin-manager: import @plugin-server\/plugin-runtime/,
    )
  })

  it('fails a relative path into another lib’s sources', () => {
    assert.match(found('internal import', 'libs/db/src/index.ts')[0]?.detail ?? '', /reaches outside libs\/db/)
  })

  it('fails a run-time import cycle, but not one closed only by a type-only import', () => {
    const cycles = wrong.filter((v) => v.rule === 'cycle').map((v) => v.detail)
    assert.deepEqual(cycles, ['libs/plugin-runtime/src/plugin-manager.ts → libs/plugin-runtime/src/pool.ts → libs/plugin-runtime/src/plugin-manager.ts'])
  })

  it('fails an export * in a package’s src/index.ts, which hides what the package exports', () => {
    assert.deepEqual(
      found('star export', 'libs/plugin-runtime/src/index.ts').map((v) => v.detail),
      ["export * from './types': name what it exports (export { … } from, export type { … } from), only what other packages use"],
    )
  })

  it('fails a workspace package placed in no layer', () => {
    assert.equal(found('unplaced package', 'libs/unplaced/package.json').length, 1)
  })

  it('reports nothing else in the fixture than the wrong imports written there', () => {
    assert.equal(wrong.length, 7, JSON.stringify(wrong, null, 2))
  })
})
