import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { dealShards, RENDEZVOUS_ID_PREFIX } from '@plugin-server/scheduling'

/** Every live replica's shards, as each of them computes its own. */
function deal(replicas: string[], shards: number): Map<string, number[]> {
  return new Map(replicas.map((r) => [r, dealShards(r, replicas, shards)]))
}

function ownerOf(dealt: Map<string, number[]>, shards: number): string[] {
  const owners: string[] = []
  for (const [replica, owned] of dealt) for (const s of owned) owners[s] = replica
  assert.equal(owners.filter(Boolean).length, shards)
  return owners
}

/** Shards whose owner changed from one deal to the next. */
function moved(before: string[], after: string[]): number {
  return before.filter((owner, s) => after[s] !== owner).length
}

/** The rule before: the members sorted by id, shard s to member s mod n. */
function dealtInTurn(replicas: string[], shards: number): string[] {
  const sorted = [...replicas].sort()
  return Array.from({ length: shards }, (_, s) => sorted[s % sorted.length])
}

/** Ids as ShardOwnership makes them. */
const replicaId = () => RENDEZVOUS_ID_PREFIX + randomUUID()
const replicaIds = (n: number) => Array.from({ length: n }, replicaId)

describe('dealShards: which SCHEDULER_SHARDS shards each live scheduler replica owns', () => {
  it('gives every shard to exactly one replica and each replica ⌊shards / n⌋ or ⌈shards / n⌉ of them', () => {
    for (const shards of [1, 2, 4, 8, 16, 33])
      for (let n = 1; n <= 9; n++) {
        const dealt = deal(replicaIds(n), shards)
        const all = [...dealt.values()].flat().sort((a, b) => a - b)
        assert.deepEqual(
          all,
          Array.from({ length: shards }, (_, s) => s),
          `${shards} shards over ${n} replicas`,
        )
        for (const owned of dealt.values()) {
          assert.ok(
            owned.length === Math.floor(shards / n) || owned.length === Math.ceil(shards / n),
            `${owned.length} of ${shards} shards to one of ${n} replicas`,
          )
        }
      }
  })

  it('deals alike on every replica, whatever order each read the live set in, and answers its shards sorted', () => {
    const replicas = replicaIds(5)
    for (const replica of replicas) {
      const owned = dealShards(replica, replicas, 16)
      assert.deepEqual(dealShards(replica, [...replicas].reverse(), 16), owned)
      assert.deepEqual(dealShards(replica, [replicas[2], replica, ...replicas], 16), owned, 'a member read twice counts once')
      assert.deepEqual(
        [...owned].sort((a, b) => a - b),
        owned,
      )
    }
  })

  it('gives a replica missing from the live set (its heartbeat aged out) no shard', () => {
    assert.deepEqual(dealShards('gone', replicaIds(3), 8), [])
  })

  it('deals in turn, as builds before it did, while a replica of such a build (a bare UUID) is live: a fleet in a rolling upgrade agrees on one deal', () => {
    const old = randomUUID()
    const replicas = [...replicaIds(2), old]
    const inTurn = dealtInTurn(replicas, 32)
    for (const replica of replicas) {
      const mine = inTurn.flatMap((owner, s) => (owner === replica ? [s] : []))
      assert.deepEqual(dealShards(replica, replicas, 32), mine, 'what the old build computes for itself, the new ones compute for everyone')
    }
    // 32 shards over two: the rendezvous deal is the one in turn with a chance of 1 in C(32,16) ≈ 6 × 10^8.
    const upgraded = replicas.filter((r) => r !== old)
    assert.notDeepEqual(ownerOf(deal(upgraded, 32), 32), dealtInTurn(upgraded, 32), 'once the old replica is gone, the rendezvous deal')
  })

  it('moves few shards besides the joiner’s or the leaver’s share, where dealing in turn moved most of them', () => {
    const shards = 16
    for (const n of [2, 4, 6]) {
      let joinMoves = 0
      let leaveMoves = 0
      let joinMovesInTurn = 0
      let leaveMovesInTurn = 0
      const trials = 100
      for (let t = 0; t < trials; t++) {
        const replicas = replicaIds(n)
        const joined = [...replicas, replicaId()]
        const left = replicas.slice(1)
        const before = ownerOf(deal(replicas, shards), shards)
        joinMoves += moved(before, ownerOf(deal(joined, shards), shards))
        leaveMoves += moved(before, ownerOf(deal(left, shards), shards))
        joinMovesInTurn += moved(dealtInTurn(replicas, shards), dealtInTurn(joined, shards))
        leaveMovesInTurn += moved(dealtInTurn(replicas, shards), dealtInTurn(left, shards))
      }
      // The least a join can move is the joiner’s share, the least a departure the leaver’s; which replicas hold one shard more than the others also shifts.
      const joinShare = shards / (n + 1)
      const leaveShare = shards / n
      const perChange = (total: number) => total / trials
      assert.ok(perChange(joinMoves) <= 2 * joinShare, `a join to ${n} moved ${perChange(joinMoves)} of ${shards} shards (its share ${joinShare.toFixed(1)})`)
      assert.ok(perChange(leaveMoves) <= 2 * leaveShare, `a departure from ${n} moved ${perChange(leaveMoves)} (its share ${leaveShare.toFixed(1)})`)
      if (n > 2) {
        assert.ok(perChange(joinMoves) < perChange(joinMovesInTurn) / 2, `a join to ${n}: ${perChange(joinMoves)} moves, in turn ${perChange(joinMovesInTurn)}`)
        assert.ok(
          perChange(leaveMoves) < perChange(leaveMovesInTurn) / 2,
          `a departure from ${n}: ${perChange(leaveMoves)} moves, in turn ${perChange(leaveMovesInTurn)}`,
        )
      }
    }
  })
})
