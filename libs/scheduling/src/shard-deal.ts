import { createHash } from 'node:crypto'

/**
 * Starts the id of every replica that deals by rendezvous. Replicas of builds before it had bare
 * UUIDs and dealt in turn; while any of them is live, everyone deals in turn, so a fleet in the
 * middle of a rolling upgrade agrees on one deal instead of leaving shards without an owner.
 */
export const RENDEZVOUS_ID_PREFIX = 'r-'

/** How much `replica` wants `shard`: the same number on every replica, whatever else is live. */
function weight(replica: string, shard: number): number {
  return createHash('sha256').update(`${replica}\0${shard}`).digest().readUIntBE(0, 6)
}

/**
 * The shards `replica` owns when `replicas` are live: every replica computes the same deal from the
 * same set, in any order. Each replica gets ⌊shards / n⌋ or ⌈shards / n⌉ of them, as dealing in turn
 * (shard s to member s mod n) did; but where dealing in turn moved most shards whenever a replica
 * joined or left (every member after it in the sorted list changed position), each shard here goes
 * to the replica that wants it most (rendezvous hashing) among those with room, so a change moves
 * about the shards the newcomer takes or the leaver had, and few others: each move tears a shard's
 * configs down on one replica and sets them up on another (shard-deal.test.ts counts them).
 */
export function dealShards(replica: string, replicas: readonly string[], shards: number): number[] {
  const members = [...new Set(replicas)]
  if (!members.includes(replica)) return []
  if (!members.every((m) => m.startsWith(RENDEZVOUS_ID_PREFIX))) return dealtInTurn(replica, members, shards)
  const fewest = Math.floor(shards / members.length)
  // This many replicas get one shard more than the fewest; which ones falls out of the wants.
  let moreLeft = shards % members.length
  const load = new Map(members.map((m) => [m, 0]))
  const owner = new Map<number, string>()
  const wants: { shard: number; member: string; weight: number }[] = []
  for (let shard = 0; shard < shards; shard++) for (const member of members) wants.push({ shard, member, weight: weight(member, shard) })
  // Ties (a 48-bit hash: practically never) broken by id and shard, so every replica sorts alike.
  wants.sort((a, b) => b.weight - a.weight || (a.member < b.member ? -1 : a.member > b.member ? 1 : a.shard - b.shard))
  for (const { shard, member } of wants) {
    if (owner.has(shard)) continue
    const held = load.get(member)!
    if (held > fewest || (held === fewest && moreLeft === 0)) continue
    if (held === fewest) moreLeft--
    load.set(member, held + 1)
    owner.set(shard, member)
  }
  const owned: number[] = []
  for (let shard = 0; shard < shards; shard++) if (owner.get(shard) === replica) owned.push(shard)
  return owned
}

/** The deal of the builds before rendezvous: the members sorted by id, shard s to member s mod n. */
function dealtInTurn(replica: string, members: string[], shards: number): number[] {
  const index = [...members].sort().indexOf(replica)
  const owned: number[] = []
  for (let shard = index; shard < shards; shard += members.length) owned.push(shard)
  return owned
}
