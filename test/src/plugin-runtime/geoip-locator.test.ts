import assert from 'node:assert/strict'
import { GeoIpLocator } from '@plugin-server/plugin-runtime'
import { LocalHost, PluginEvent, PluginHost } from '@plugin-server/plugin-vm'
import { sourceFromCode, vm } from '../plugin-vm/helpers'

describe('GeoIpLocator (meta.geoip)', () => {
  const locator = new GeoIpLocator('')

  it('locates a public IP with the GeoLite2 City database shipped by default', async () => {
    const city = (await locator.locate('89.160.20.128', 1)) as { country: { isoCode: string; names: { en: string } }; continent: { code: string } }
    assert.equal(city.country.isoCode, 'SE')
    assert.equal(city.country.names.en, 'Sweden')
    assert.equal(city.continent.code, 'EU')
    assert.equal(Object.getPrototypeOf(city), Object.prototype, 'plain JSON, not a class instance')
  })

  it('returns null for private, unknown and malformed addresses', async () => {
    assert.equal(await locator.locate('10.1.2.3', 1), null)
    assert.equal(await locator.locate('127.0.0.1', 1), null)
    assert.equal(await locator.locate('not an ip', 1), null)
    assert.equal(await locator.locate('', 1), null)
  })

  it("answers null for text longer than any address, and keeps none of it: the cache is every team's in the process", async () => {
    const fresh = new GeoIpLocator('')
    await fresh.locate('89.160.20.128', 1)
    for (let i = 0; i < 50; i++) assert.equal(await fresh.locateJson(`${i}${'x'.repeat(1_000_000)}`, 1), null)
    assert.equal(await fresh.locateJson(`89.160.20.128${' '.repeat(40)}x`, 1), null)
    assert.equal(fresh.cachedAddresses, 1, 'only the address')
    const longest = 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255'
    assert.equal(longest.length, 45)
    assert.equal(await fresh.locateJson(longest, 1), null, 'not located, but an address: looked up')
    assert.equal(fresh.cachedAddresses, 2)
  })

  it("keeps answers by team: another team's lookup of an address is not answered from the first team's, so its timing tells nothing of them", async () => {
    const fresh = new GeoIpLocator('')
    const first = await fresh.locateJson('89.160.20.128', 1)
    assert.equal(fresh.cachedAddresses, 1)
    assert.equal(await fresh.locateJson('89.160.20.128', 1), first)
    assert.equal(fresh.cachedAddresses, 1, "the team's second lookup is its own cached answer")
    assert.equal(await fresh.locateJson('89.160.20.128', 2), first, 'the same answer for the other team')
    assert.equal(fresh.cachedAddresses, 2, 'looked up for the other team, and kept apart')
  })

  it('says which setting to fix when the database cannot be opened', async () => {
    await assert.rejects(new GeoIpLocator('/nonexistent/City.mmdb').locate('1.1.1.1', 1), /geoip: cannot open \/nonexistent\/City.mmdb/)
  })

  it('locateJson answers the same record as JSON text, and null where locate does', async () => {
    const text = await locator.locateJson('89.160.20.128', 1)
    assert.equal(typeof text, 'string')
    assert.deepEqual(JSON.parse(text!), await locator.locate('89.160.20.128', 1))
    assert.equal(await locator.locateJson('10.1.2.3', 1), null)
  })
})

describe('meta.geoip.locate in the sandbox', () => {
  const code = `export async function processEvent(event, { geoip }) {
    const first = await geoip.locate(event.properties.$ip)
    if (first) first.country.isoCode = 'changed by the plugin'
    const second = await geoip.locate(event.properties.$ip)
    event.properties.first = first
    event.properties.second = second
    event.properties.isObject = second !== null && typeof second === 'object'
    return event
  }`
  const record = { country: { isoCode: 'SE' }, continent: { code: 'EU' } }

  for (const [answer, asWhat] of [
    [(ip: string) => (ip === '89.160.20.128' ? JSON.stringify(record) : null), 'JSON text (what the server answers)'],
    [(ip: string) => (ip === '89.160.20.128' ? structuredClone(record) : null), 'an object (a test host, Try it)'],
  ] as const) {
    it(`gives the plugin a fresh object per call when the host answers ${asWhat}, and null when not located`, async () => {
      const host: PluginHost = new LocalHost()
      host.geoipLocate = async (ip) => answer(ip)
      const instance = await vm.load(await sourceFromCode(code), host, { configId: 1 })
      try {
        const results = await instance.processEventBatch([
          { event: 'e', distinct_id: 'd', properties: { $ip: '89.160.20.128' } },
          { event: 'e', distinct_id: 'd', properties: { $ip: '10.0.0.1' } },
        ] as PluginEvent[])
        const [located, unknown] = results.map((r) => (r.ok ? r.event!.properties! : assert.fail(`processEvent failed: ${r.error.message}`)))
        assert.deepEqual(located.second, record)
        assert.equal((located.first as typeof record).country.isoCode, 'changed by the plugin', 'the plugin may change what it gets')
        assert.equal(located.isObject, true)
        assert.equal(unknown.second, null)
      } finally {
        instance.dispose()
      }
    })

    it(`asks the host once for an address looked up by many events in one turn, each getting an object of its own, when it answers ${asWhat}`, async () => {
      const asked: string[] = []
      const host: PluginHost = new LocalHost()
      host.geoipLocate = async (ip) => (asked.push(ip), answer(ip))
      const perEvent = `export async function processEvent(event, { geoip }) {
        const located = await geoip.locate(event.properties.$ip)
        if (located) located.country.isoCode += '-' + event.properties.n
        event.properties.country = located?.country.isoCode ?? null
        return event
      }`
      const instance = await vm.load(await sourceFromCode(perEvent), host, { configId: 1 })
      try {
        const events = Array.from({ length: 20 }, (_, n) => ({ event: 'e', distinct_id: 'd', properties: { $ip: n === 7 ? '10.0.0.1' : '89.160.20.128', n } }))
        const results = await instance.processEventBatch(events as PluginEvent[])
        const countries = results.map((r) => (r.ok ? r.event!.properties!.country : assert.fail(`processEvent failed: ${r.error.message}`)))
        assert.deepEqual(
          countries,
          events.map((e) => (e.properties.n === 7 ? null : `SE-${e.properties.n}`)),
        )
        assert.deepEqual(asked.sort(), ['10.0.0.1', '89.160.20.128'])
      } finally {
        instance.dispose()
      }
    })

    it(`answers a later batch's lookups of addresses its plugin already located without asking the host, each time a fresh object, when it answers ${asWhat}`, async () => {
      const asked: string[] = []
      const host: PluginHost = new LocalHost()
      host.geoipLocate = async (ip) => (asked.push(ip), answer(ip))
      const perEvent = `export async function processEvent(event, { geoip }) {
        const located = await geoip.locate(event.properties.$ip)
        event.properties.country = located?.country.isoCode ?? null
        if (located) located.country.isoCode = 'changed by the plugin'
        return event
      }`
      const load = async () => vm.load(await sourceFromCode(perEvent), host, { configId: 1 })
      const [instance, other] = await Promise.all([load(), load()])
      const batch = (ips: string[]) => ips.map((ip) => ({ event: 'e', distinct_id: 'd', properties: { $ip: ip } })) as PluginEvent[]
      const countries = async (target: typeof instance, ips: string[]) =>
        (await target.processEventBatch(batch(ips))).map((r) => (r.ok ? r.event!.properties!.country : assert.fail(`processEvent failed: ${r.error.message}`)))
      try {
        assert.deepEqual(await countries(instance, ['89.160.20.128', '10.0.0.1']), ['SE', null])
        assert.deepEqual(asked.splice(0).sort(), ['10.0.0.1', '89.160.20.128'])
        assert.deepEqual(await countries(instance, ['89.160.20.128', '10.0.0.1', '89.160.20.128']), ['SE', null, 'SE'])
        assert.deepEqual(asked.splice(0), [], 'answered from what this plugin was told before')
        // Another config's isolate knows only its own answers.
        assert.deepEqual(await countries(other, ['89.160.20.128']), ['SE'])
        assert.deepEqual(asked.splice(0), ['89.160.20.128'])
        // Past its bound it starts again empty and asks the host, answering as before.
        const many = Array.from({ length: 40 }, (_, i) => `10.9.0.${i}`)
        assert.deepEqual(
          await countries(instance, many),
          many.map(() => null),
        )
        assert.deepEqual(await countries(instance, ['89.160.20.128']), ['SE'])
        assert.deepEqual(asked.splice(0).length, many.length + 1)
      } finally {
        instance.dispose()
        other.dispose()
      }
    })

    it(`copies a remembered record as JSON.parse would, whatever the plugin put on Object.prototype and Array.prototype or replaced, when the host answers ${asWhat}`, async () => {
      const host: PluginHost = new LocalHost()
      const withArray = { ...record, subdivisions: [{ isoCode: 'AB', names: { en: 'Stockholm' } }, { isoCode: 'CD' }] }
      host.geoipLocate = async (ip) => {
        const answered = answer(ip)
        return typeof answered === 'string' ? JSON.stringify(withArray) : answered === null ? null : structuredClone(withArray)
      }
      const hostile = `
        let setters = ''
        for (const name of ['country', 'isoCode', 'subdivisions', 'names', 'en']) {
          Object.defineProperty(Object.prototype, name, { set(v) { setters += name + ' ' }, get() { return 'inherited' }, configurable: true })
        }
        const defineProperty = Object.defineProperty
        Object.prototype.enumerableExtra = 'inherited'
        Object.defineProperty = () => { throw new Error('replaced by the plugin') }
        JSON.parse = () => ({ replaced: true })
        globalThis.Function = function () { throw new Error('replaced by the plugin') }
        let calls = 0
        export async function processEvent(event, { geoip }) {
          // From the second call on (answered from what the isolate remembers, no host call, whose
          // own bookkeeping such a setter would spoil): index setters on Array.prototype too.
          if (++calls === 2) for (const index of ['0', '1']) defineProperty(Array.prototype, index, { set(v) { setters += '[' + index + '] ' }, configurable: true })
          const records = [await geoip.locate(event.properties.$ip), await geoip.locate(event.properties.$ip)]
          event.properties.records = records.map((r) => ({
            own: Object.keys(r),
            country: Object.getOwnPropertyDescriptor(r, 'country').value.isoCode,
            subdivisions: Object.getOwnPropertyDescriptor(r, 'subdivisions').value.map((s) => Object.getOwnPropertyDescriptor(s, 'isoCode').value),
            subdivisionIsArray: Array.isArray(r.subdivisions),
            en: Object.getOwnPropertyDescriptor(Object.getOwnPropertyDescriptor(r, 'subdivisions').value[0], 'names').value.en,
          }))
          event.properties.fresh = records[0] !== records[1] && records[0].subdivisions !== records[1].subdivisions
          event.properties.setters = setters
          // Changed after reading: no later copy may show it.
          Object.getOwnPropertyDescriptor(records[1], 'country').value.isoCode = 'changed by the plugin'
          return event
        }`
      const instance = await vm.load(await sourceFromCode(hostile), host, { configId: 1 })
      try {
        const batch = (events: number) =>
          Array.from({ length: events }, () => ({ event: 'e', distinct_id: 'd', properties: { $ip: '89.160.20.128' } })) as PluginEvent[]
        // The first batch asks the host; the second is answered from what the isolate remembers; in
        // the third, past 16 copies, from the record compiled as a literal.
        for (const [round, events] of [
          ['asked', 1],
          ['remembered', 1],
          ['compiled', 20],
        ] as const) {
          const results = await instance.processEventBatch(batch(events))
          for (const [n, result] of results.entries()) {
            const label = `${round}, event ${n}`
            const properties = result.ok ? result.event!.properties! : assert.fail(`processEvent failed (${label}): ${result.error.message}`)
            const expected = {
              own: ['country', 'continent', 'subdivisions'],
              country: 'SE',
              subdivisions: ['AB', 'CD'],
              subdivisionIsArray: true,
              en: 'Stockholm',
            }
            assert.deepEqual(properties.records, [expected, expected], label)
            assert.equal(properties.fresh, true, label)
            assert.equal(properties.setters, '', `${label}: no setter of the plugin ran`)
          }
        }
      } finally {
        instance.dispose()
      }
    })

    it(`answers each of many addresses asked often with its own record (past the records it compiles), when the host answers ${asWhat}`, async () => {
      const host: PluginHost = new LocalHost()
      host.geoipLocate = async (ip) => {
        const own = { ...record, traits: { ipAddress: ip } }
        return typeof answer('89.160.20.128') === 'string' ? JSON.stringify(own) : own
      }
      const perEvent = `export async function processEvent(event, { geoip }) {
        event.properties.located = (await geoip.locate(event.properties.$ip)).traits.ipAddress
        return event
      }`
      const instance = await vm.load(await sourceFromCode(perEvent), host, { configId: 1 })
      try {
        const ips = Array.from({ length: 12 }, (_, i) => `10.8.0.${i}`)
        const events = Array.from({ length: 30 }, () => ips).flat()
        const results = await instance.processEventBatch(events.map((ip) => ({ event: 'e', distinct_id: 'd', properties: { $ip: ip } })) as PluginEvent[])
        const located = results.map((r, n) => (r.ok ? r.event!.properties!.located : assert.fail(`processEvent failed (event ${n}): ${r.error.message}`)))
        assert.deepEqual(located, events)
      } finally {
        instance.dispose()
      }
    })

    it(`keeps a "__proto__" key of a remembered record an own property, as JSON.parse does, however often it is copied, when the host answers ${asWhat}`, async () => {
      const host: PluginHost = new LocalHost()
      // JSON.parse makes "__proto__" an own property; an object literal would take it as the prototype.
      const text = '{"country":{"isoCode":"SE","__proto__":{"isoCode":"XX"}},"__proto__":{"polluted":true}}'
      host.geoipLocate = async (ip) => {
        const answered = answer(ip)
        return typeof answered === 'string' ? text : answered === null ? null : JSON.parse(text)
      }
      const perEvent = `export async function processEvent(event, { geoip }) {
        const r = await geoip.locate(event.properties.$ip)
        event.properties.seen = [Object.getPrototypeOf(r) === Object.prototype, r.polluted === undefined, Object.keys(r).join(), Object.keys(r.country).join(), Object.getPrototypeOf(r.country) === Object.prototype, r.country.isoCode]
        return event
      }`
      const instance = await vm.load(await sourceFromCode(perEvent), host, { configId: 1 })
      try {
        const results = await instance.processEventBatch(
          Array.from({ length: 40 }, () => ({ event: 'e', distinct_id: 'd', properties: { $ip: '89.160.20.128' } })) as PluginEvent[],
        )
        for (const [n, result] of results.entries()) {
          const properties = result.ok ? result.event!.properties! : assert.fail(`processEvent failed (event ${n}): ${result.error.message}`)
          assert.deepEqual(properties.seen, [true, true, 'country,__proto__', 'isoCode,__proto__', true, 'SE'], `event ${n}`)
        }
      } finally {
        instance.dispose()
      }
    })
  }
})
