import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '@plugin-server/core'

describe('loadConfig', () => {
  it('gives working defaults with an empty environment', () => {
    const config = loadConfig({})
    assert.equal(config.queuePrefix, '{ps}')
    assert.equal(config.redisUrl, 'redis://127.0.0.1:6379')
    assert.equal(config.capture.batchMaxEvents, 200)
  })

  it('reads values from the environment', () => {
    const config = loadConfig({ QUEUE_PREFIX: 'prod{ps}', INGEST_CONCURRENCY: '8', CAPTURE_TRUST_PROXY: 'true', LOG_FORMAT: 'pretty' })
    assert.equal(config.queuePrefix, 'prod{ps}')
    assert.equal(config.ingest.concurrency, 8)
    assert.equal(config.capture.trustProxy, true)
    assert.equal(config.logFormat, 'pretty')
  })

  it('names every wrong variable and what it expected', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'http://x', INGEST_CONCURRENCY: 'many', LOG_LEVEL: 'loud', QUEUE_PREFIX: 'ps', CAPTURE_TRUST_PROXY: 'maybe' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.equal(err.problems.length, 5)
        assert.match(err.message, /REDIS_URL: expected a redis: or rediss: URL, got "http:\/\/x"/)
        assert.match(err.message, /INGEST_CONCURRENCY: expected an integer between 1 and 1000, got "many"/)
        assert.match(err.message, /LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"/)
        assert.match(err.message, /QUEUE_PREFIX: expected a prefix with a Redis Cluster hash tag/)
        assert.match(err.message, /CAPTURE_TRUST_PROXY: expected true or false, got "maybe"/)
        return true
      },
    )
  })
})
