import assert from 'node:assert/strict'
import { GeoIpLocator } from '@plugin-server/plugin-runtime'

describe('GeoIpLocator (meta.geoip)', () => {
  const locator = new GeoIpLocator('')

  it('locates a public IP with the GeoLite2 City database shipped by default', async () => {
    const city = (await locator.locate('89.160.20.128')) as { country: { isoCode: string; names: { en: string } }; continent: { code: string } }
    assert.equal(city.country.isoCode, 'SE')
    assert.equal(city.country.names.en, 'Sweden')
    assert.equal(city.continent.code, 'EU')
    assert.equal(Object.getPrototypeOf(city), Object.prototype, 'plain JSON, not a class instance')
  })

  it('returns null for private, unknown and malformed addresses', async () => {
    assert.equal(await locator.locate('10.1.2.3'), null)
    assert.equal(await locator.locate('127.0.0.1'), null)
    assert.equal(await locator.locate('not an ip'), null)
    assert.equal(await locator.locate(''), null)
  })

  it('says which setting to fix when the database cannot be opened', async () => {
    await assert.rejects(new GeoIpLocator('/nonexistent/City.mmdb').locate('1.1.1.1'), /geoip: cannot open \/nonexistent\/City.mmdb/)
  })
})
