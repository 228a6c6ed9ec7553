import assert from 'node:assert/strict'
import Redis from 'ioredis'
import type { DeleteTeamResult, ErrorBody } from '@plugin-server/admin-contract'
import { eventually } from '../harness/fleet'
import { fillTeam, teamRedisKeys, teamRows } from '../management/team-data'
import { AdminFleet, sendEvents, startAdminFleet } from './admin-fleet'

describe('DELETE /api/teams/:teamId', function () {
  this.timeout(120_000)
  let f: AdminFleet
  let redis: Redis

  before(async () => {
    f = await startAdminFleet(['capture'])
    redis = new Redis(process.env.REDIS_URL!)
  })
  after(async () => {
    redis.disconnect()
    await f.close()
  })

  const capture = async (token: string) =>
    (await fetch(`${f.fleet.captureUrl}/batch`, { method: 'POST', body: JSON.stringify({ api_key: token, batch: [{ event: 'e', distinct_id: 'u' }] }) })).status

  it("is refused to a team's token, refused without ?force=true saying what the team has, and with it deletes the team's data and not another team's; capture then refuses the team's token", async () => {
    const prefix = f.fleet.env.QUEUE_PREFIX
    const teamId = f.fleet.team.id
    const acme = await fillTeam(f.fleet.db.pool, redis, prefix, teamId)
    const other = await fillTeam(f.fleet.db.pool, redis, prefix, f.other.teamId)
    const otherKeys = await teamRedisKeys(redis, prefix, other)
    await sendEvents(f.fleet, [{ event: 'seen before the delete' }])

    const asTeam = await f.call('DELETE', `/api/teams/${teamId}?force=true`, undefined, f.teamToken)
    assert.equal(asTeam.status, 403, "the team's own token cannot delete it")
    const refused = await f.call('DELETE', `/api/teams/${teamId}`)
    assert.equal(refused.status, 409, refused.text)
    assert.match(refused.json<ErrorBody>().error.message, /has 1 plugin config\(s\) \(\d+\) and 6 stored event\(s\); .*add \?force=true/)
    assert.equal((await teamRows(f.fleet.db.pool, teamId)).events, 6)

    const deleted = await f.ok<DeleteTeamResult>('DELETE', `/api/teams/${teamId}?force=true`)

    assert.deepEqual(
      { ...deleted, redis_bytes_freed: deleted.redis_bytes_freed > 50_000 },
      {
        id: teamId,
        name: 'test team',
        deleted: true,
        already_deleted: false,
        deleted_configs: [acme.configId],
        // fillTeam's and the fleet's team admin token.
        deleted_tokens: 2,
        deleted_events: 6,
        deleted_log_rows: 2,
        redis_bytes_freed: true,
      },
    )
    assert.deepEqual(await teamRows(f.fleet.db.pool, teamId), { teams: 0, configs: 0, tokens: 0, events: 0, event_partitions: 0, log_rows: 0 })
    assert.deepEqual(await teamRedisKeys(redis, prefix, acme), [])
    assert.deepEqual(await teamRows(f.fleet.db.pool, other.teamId), { teams: 1, configs: 1, tokens: 2, events: 6, event_partitions: 2, log_rows: 2 })
    assert.deepEqual(await teamRedisKeys(redis, prefix, other), otherKeys)
    // Capture keeps a team's answer about 10 s (TeamResolver), then refuses the token.
    await eventually(
      "capture refuses the deleted team's token",
      () => capture(f.fleet.team.api_token),
      (status) => status === 401,
    )
    assert.equal(await capture(f.fleet.team.api_token), 401)

    const missing = await f.call('DELETE', '/api/teams/999999?force=true')
    assert.equal(missing.status, 404, missing.text)
    assert.match(missing.json<ErrorBody>().error.message, /team 999999 not found/)
  })
})
