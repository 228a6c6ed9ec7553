import assert from 'node:assert/strict'
import Mocha from 'mocha'
import { scaleMochaTimeouts } from './wait'

type Tree = Parameters<typeof scaleMochaTimeouts>[0]

/** A root at mocha's 60 s and a ten-minute suite below it holding one test, as a soak file has. */
function rootWithLongSuite(): { root: Mocha.Suite; soak: Mocha.Suite; long: Mocha.Test } {
  const root = new Mocha.Suite('', new Mocha.Context())
  root.timeout(60_000)
  const soak = Mocha.Suite.create(root, 'a long run')
  soak.timeout(600_000)
  const long = new Mocha.Test('takes minutes', () => undefined)
  soak.addTest(long)
  return { root, soak, long }
}

describe('scaleMochaTimeouts (test bounds that follow the machine’s load)', () => {
  it('stretches each suite’s, hook’s and test’s own timeout, even though mocha’s Suite#timeout sets everything below it', () => {
    const { root, soak, long } = rootWithLongSuite()
    soak.beforeAll('starts a fleet', () => undefined)
    const unbounded = new Mocha.Test('has no timeout', () => undefined)
    soak.addTest(unbounded)
    unbounded.timeout(0)
    const nested = Mocha.Suite.create(soak, 'nested')
    nested.timeout(10_000)
    const short = new Mocha.Test('is quick', () => undefined)
    nested.addTest(short)
    const plain = Mocha.Suite.create(root, 'a plain file')
    const ordinary = new Mocha.Test('takes the default', () => undefined)
    plain.addTest(ordinary)

    scaleMochaTimeouts(root as unknown as Tree, 2)

    assert.equal(root.timeout(), 120_000)
    assert.equal(soak.timeout(), 1_200_000)
    assert.equal(long.timeout(), 1_200_000, 'the root’s value does not overwrite a suite’s own')
    assert.equal((soak as unknown as { _beforeAll: Mocha.Hook[] })._beforeAll[0].timeout(), 1_200_000)
    assert.equal(unbounded.timeout(), 0, 'no timeout stays no timeout')
    assert.equal(nested.timeout(), 20_000)
    assert.equal(short.timeout(), 20_000)
    assert.equal(ordinary.timeout(), 120_000)
  })

  it('leaves every timeout as it was at a scale of 1', () => {
    const { root, long } = rootWithLongSuite()
    scaleMochaTimeouts(root as unknown as Tree, 1)
    assert.equal(long.timeout(), 600_000)
  })
})
