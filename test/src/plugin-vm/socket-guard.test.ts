import assert from 'assert/strict'
import { randomBytes } from 'crypto'
import http from 'http'
import net, { Socket } from 'net'
import tls from 'tls'
import { AddressPolicy, FetchRefusedError, outsideAddressPolicy, withAddressPolicy } from '@plugin-server/plugin-vm'

/** What a socket did: reached the service and got its answer to `PING`, or failed (and how). */
function outcome(socket: Socket, send = 'PING\r\n'): Promise<string> {
  return new Promise((resolve) => {
    socket.once('connect', () => socket.write(send))
    socket.once('data', (data) => {
      resolve(`replied ${data.toString().trim()}`)
      socket.destroy()
    })
    socket.once('error', (error) => resolve(`${error.name}: ${error.message}`))
  })
}

describe('plugin-vm: the socket guard (every socket opened under an address policy)', () => {
  const redisPort = () => Number(new URL(process.env.REDIS_URL!).port)
  const refuseAll = new AddressPolicy([])

  it('refuses the test Redis on loopback, however the socket is opened, and writes nothing to it', async () => {
    const port = redisPort()
    const marker = `socket_guard_${randomBytes(4).toString('hex')}`
    const write = `SET ${marker} owned\r\n`
    const attempts = await withAddressPolicy(refuseAll, 'test', () =>
      Promise.all([
        outcome(net.connect(port, '127.0.0.1'), write),
        outcome(net.createConnection({ port, host: '127.0.0.1' }), write),
        outcome(new Socket().connect(port, '127.0.0.1'), write),
        outcome(new Socket().connect({ port, host: '::ffff:127.0.0.1' }), write),
        outcome(tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }), write),
      ]),
    )
    for (const attempt of attempts) assert.match(attempt, /^FetchRefusedError: fetch refused: test: .*127\.0\.0\.1.* loopback/)
    assert.equal(await outcome(net.connect(port, '127.0.0.1'), `EXISTS ${marker}\r\n`), 'replied :0')
  })

  it('checks names after DNS with its own lookup, whatever lookup the caller passed', async () => {
    const port = redisPort()
    let callersLookupUsed = false
    const lookup: net.LookupFunction = (_host, _options, callback) => {
      callersLookupUsed = true
      callback(null, '127.0.0.1', 4)
    }
    const attempts = await withAddressPolicy(refuseAll, 'test', () =>
      Promise.all([outcome(net.connect({ port, host: 'localhost' })), outcome(net.connect({ port, host: 'localhost', lookup }))]),
    )
    for (const attempt of attempts) assert.match(attempt, /FetchRefusedError: fetch refused: host "localhost" resolves only to refused addresses/)
    assert.equal(callersLookupUsed, false)
  })

  it('refuses Unix sockets', async () => {
    const attempts = await withAddressPolicy(new AddressPolicy(['0.0.0.0/0', '::/0']), 'test', () =>
      Promise.all([outcome(net.connect('/var/run/redis.sock')), outcome(net.connect({ path: '/tmp/.s.PGSQL.5432' }))]),
    )
    for (const attempt of attempts) assert.equal(attempt, 'FetchRefusedError: fetch refused: test: Unix socket connections are not allowed')
  })

  it('follows the work it started: a socket opened later from a timer, or by an http request, is checked too', async () => {
    const port = redisPort()
    const later = await withAddressPolicy(
      refuseAll,
      'test',
      () => new Promise<string>((resolve) => setTimeout(() => void outcome(net.connect(port, '127.0.0.1')).then(resolve), 1)),
    )
    assert.match(later, /FetchRefusedError/)
    const viaHttp = await withAddressPolicy(
      refuseAll,
      'test',
      () =>
        new Promise<string>((resolve) => {
          http
            .get(`http://127.0.0.1:${port}/`)
            .on('error', (error) => resolve(`${error.name}: ${error.message}`))
            .on('response', () => resolve('answered'))
        }),
    )
    assert.match(viaHttp, /FetchRefusedError/)
  })

  it('leaves sockets opened outside a policy alone, and connects where the policy allows', async () => {
    const port = redisPort()
    assert.equal(await outcome(net.connect(port, '127.0.0.1')), 'replied +PONG')
    assert.equal(await withAddressPolicy(refuseAll, 'test', () => outsideAddressPolicy(() => outcome(net.connect(port, '127.0.0.1')))), 'replied +PONG')
    assert.equal(await withAddressPolicy(new AddressPolicy(['127.0.0.0/8']), 'test', () => outcome(net.connect(port, '127.0.0.1'))), 'replied +PONG')
    assert.equal(await withAddressPolicy(new AddressPolicy(['localhost']), 'test', () => outcome(net.connect(port, 'localhost'))), 'replied +PONG')
  })

  it('refuses with the FetchRefusedError class the fetch policy uses', async () => {
    const error = await withAddressPolicy(
      refuseAll,
      'test',
      () => new Promise<Error>((resolve) => net.connect(redisPort(), '169.254.169.254').once('error', resolve)),
    )
    assert.ok(error instanceof FetchRefusedError)
    assert.equal((error as FetchRefusedError).code, 'ERR_PLUGIN_FETCH_REFUSED')
    assert.match(
      error.message,
      /169\.254\.169\.254 is a link-local \(cloud metadata\) address \(operators can allow internal hosts with PLUGIN_FETCH_ALLOWED_HOSTS\)/,
    )
  })
})
