/**
 * `RevocationQueue` over a `VaultStore` (contract §7). Queued tokens are sealed like a
 * connection's, bound to their queue row (id, user, provider, purpose), so a ciphertext copied
 * from a connection or another entry does not open here. A claim is one conditional write per
 * entry (see `claimRevocation`): of several replicas draining at once, one works on each entry.
 */
import { randomUUID } from 'node:crypto'
import type { TokenSet } from '../cloud/models.ts'
import { openTokensOrNull, sealTokens } from './connection-rows.ts'
import type { VaultDeps } from './connection-vault.ts'
import type { QueuedRevocation, RevocationQueue } from './ports.ts'
import type { NewRevocationRow, VaultStore } from './store.ts'

type NewRevocation = Parameters<RevocationQueue['enqueue']>[0]

/** A queue entry, its tokens sealed to it; also written by a session whose kept grant ends. */
export function revocationRow(
  ring: VaultDeps['ring'],
  input: NewRevocation,
  enqueuedAt: Date,
): NewRevocationRow {
  const identity = { id: randomUUID(), userId: input.userId, provider: input.provider }
  return {
    ...identity,
    reason: input.reason,
    ...sealTokens(ring, identity, input.tokens),
    attempts: 0,
    dueAt: input.dueAt,
    enqueuedAt,
    claim: null,
  }
}

export class StoredRevocationQueue implements RevocationQueue {
  readonly #store: VaultStore
  readonly #ring: VaultDeps['ring']
  readonly #clock: VaultDeps['clock']

  constructor(deps: Pick<VaultDeps, 'store' | 'ring' | 'clock'>) {
    this.#store = deps.store
    this.#ring = deps.ring
    this.#clock = deps.clock
  }

  async enqueue(input: NewRevocation): Promise<void> {
    await this.#store.insertRevocation(revocationRow(this.#ring, input, new Date(this.#clock())))
  }

  async claimDue(input: {
    now: Date
    leaseMs: number
    limit: number
  }): Promise<QueuedRevocation[]> {
    const until = new Date(input.now.getTime() + input.leaseMs)
    const claimed: QueuedRevocation[] = []
    for (const id of await this.#store.dueRevocations(input.now, input.limit)) {
      const claim = randomUUID()
      const row = await this.#store.claimRevocation(id, input.now, until, claim)
      if (!row) continue // another replica got there first
      claimed.push({
        id: row.id,
        userId: row.userId,
        provider: row.provider,
        reason: row.reason,
        tokens: openTokensOrNull(this.#ring, row),
        attempts: row.attempts,
        enqueuedAt: row.enqueuedAt,
        claim,
      })
    }
    return claimed
  }

  async remove(entry: QueuedRevocation): Promise<void> {
    await this.#store.deleteRevocation(entry.id, entry.claim)
  }

  async retryLater(
    entry: QueuedRevocation,
    input: { dueAt: Date; tokens: TokenSet | null },
  ): Promise<void> {
    // Tokens a refresh replaced are sealed anew; unopenable ones stay as they are.
    const sealed = input.tokens ? sealTokens(this.#ring, entry, input.tokens) : {}
    await this.#store.updateRevocation(entry.id, entry.claim, { dueAt: input.dueAt, ...sealed })
  }

  async depth(): Promise<number> {
    return this.#store.countRevocations()
  }
}
