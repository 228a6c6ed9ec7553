import assert from 'node:assert/strict'
import { CountedWarning } from '@plugin-server/plugin-runtime'

describe('CountedWarning (routine failures said once a minute with their count)', () => {
  it('warns of the first at once, then at most once per interval with the count and the latest, and flush says what is still counted', () => {
    let now = 0
    const said: [number, boolean, string][] = []
    const warning = new CountedWarning<string>(
      60_000,
      (count, first, detail) => said.push([count, first, detail]),
      () => now,
    )
    warning.add(1, 'a')
    for (const detail of ['b', 'c', 'd']) warning.add(1, detail)
    assert.deepEqual(said, [[1, true, 'a']], 'the ones within the interval are counted, not said')
    now = 60_000
    warning.add(1, 'e')
    assert.deepEqual(said.at(-1), [4, false, 'e'])
    warning.add(2, 'f')
    warning.flush()
    assert.deepEqual(said.at(-1), [2, false, 'f'], 'at shutdown: what was counted since, though no later one comes')
    warning.flush()
    assert.equal(said.length, 3, 'nothing counted: nothing said')
  })
})
