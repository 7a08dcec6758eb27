/**
 * Revocation that reaches Dropbox (contract §7). Disconnect, replace-on-reconnect and a failed
 * connect revoke the *grant*: `auth/token/revoke` disables the access token and its refresh
 * token. A stored access token is often stale (they live 4 hours), and revoking with an expired
 * one only earns `401 expired_access_token` while the refresh token lives on; so a stale token
 * is refreshed first, and a refused one is refreshed and revoked once more. A refresh answering
 * `invalid_grant` means the grant is already dead, which is what we wanted.
 *
 * When Dropbox cannot be reached the tokens go to the durable queue, which every replica drains
 * with backoff until Dropbox confirms, the grant turns out dead, or `maxAgeMs` passes.
 */
import { ReconnectRequiredError } from '../cloud/errors.ts'
import type { Provider, TokenSet } from '../cloud/models.ts'
import type { CloudAuth } from '../cloud/protocols.ts'
import { needsRefresh } from '../cloud/token-refresher.ts'
import type { Audit } from '../observability/audit.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { QueuedRevocation, RevocationQueue, RevocationReason } from '../vault/ports.ts'

export interface RevocationPolicy {
  /** First retry after this long; each later one waits twice as long, up to `maxDelayMs`. */
  baseDelayMs: number
  maxDelayMs: number
  /** Older entries are dropped and logged as an error: their grant may still be alive. */
  maxAgeMs: number
  /** How long one replica holds a claimed entry (longer than an attempt can take). */
  leaseMs: number
  /** Entries per drain round. */
  batch: number
}

export const DEFAULT_REVOCATION_POLICY: RevocationPolicy = {
  baseDelayMs: 30_000,
  maxDelayMs: 3_600_000,
  maxAgeMs: 7 * 24 * 3_600_000,
  leaseMs: 120_000,
  batch: 20,
}

export interface RevokerDeps {
  auth: CloudAuth
  queue: RevocationQueue
  audit: Audit
  metrics: Metrics
  clock: () => number
  policy?: Partial<RevocationPolicy>
}

/** What one attempt found out; `unreachable` carries the freshest tokens for the next try. */
type Attempt =
  | { outcome: 'revoked' }
  | { outcome: 'already_dead' }
  | { outcome: 'unreachable'; tokens: TokenSet }

export interface GrantOwner {
  userId: string
  /** The calling service whose request ended the grant; none for background work. */
  caller?: string
  provider: Provider
  reason: RevocationReason
}

function ownerFields(owner: GrantOwner) {
  return { user: owner.userId, caller: owner.caller, reason: owner.reason }
}

export class Revoker {
  readonly #deps: RevokerDeps
  readonly #policy: RevocationPolicy

  constructor(deps: RevokerDeps) {
    this.#deps = deps
    this.#policy = { ...DEFAULT_REVOCATION_POLICY, ...deps.policy }
  }

  /** Revokes now, or queues; never throws (the caller's own work is already done). */
  async revokeGrant(tokens: TokenSet, owner: GrantOwner): Promise<void> {
    const { audit, metrics, queue, clock } = this.#deps
    const fields = ownerFields(owner)
    const attempt = await this.#attempt(tokens)
    if (attempt.outcome !== 'unreachable') {
      metrics.countRevocation(attempt.outcome === 'revoked' ? 'ok' : 'already_dead')
      audit('revocation_succeeded', { ...fields, outcome: attempt.outcome })
      return
    }
    try {
      await queue.enqueue({
        userId: owner.userId,
        provider: owner.provider,
        reason: owner.reason,
        tokens: attempt.tokens,
        dueAt: new Date(clock() + this.#policy.baseDelayMs),
      })
      this.queued(owner)
      metrics.setRevocationQueueDepth(await queue.depth())
    } catch (error) {
      metrics.countRevocation('failed')
      audit('revocation_failed', {
        ...fields,
        why: 'the revocation could not be queued',
        error: (error as Error)?.name ?? 'Error',
      })
    }
  }

  /** Counts and logs a grant queued here or by the vault (a kept grant whose session ended). */
  queued(owner: GrantOwner): void {
    this.#deps.metrics.countRevocation('queued')
    this.#deps.audit('revocation_queued', ownerFields(owner))
  }

  /** A grant whose tokens are lost (their vault key is missing): nothing can revoke it. */
  unrevocable(owner: GrantOwner, why: string): void {
    this.#deps.metrics.countRevocation('failed')
    this.#deps.audit('revocation_failed', { ...ownerFields(owner), why })
  }

  /** One round over the due entries; returns how many were claimed. */
  async drain(): Promise<number> {
    const { queue, clock, metrics } = this.#deps
    const { leaseMs, batch } = this.#policy
    const claimed = await queue.claimDue({ now: new Date(clock()), leaseMs, limit: batch })
    for (const entry of claimed) await this.#retry(entry)
    metrics.setRevocationQueueDepth(await queue.depth())
    return claimed.length
  }

  async #retry(entry: QueuedRevocation): Promise<void> {
    const { audit, metrics, clock } = this.#deps
    const { queue } = this.#deps
    const fields = {
      user: entry.userId,
      reason: entry.reason,
      attempts: entry.attempts,
      queued: true,
    }
    const tooOld = clock() - entry.enqueuedAt.getTime() > this.#policy.maxAgeMs
    if (entry.tokens === null) {
      // Kept (a restart with the right key ring can still revoke it) until it is too old.
      audit('revocation_failed', {
        ...fields,
        why: 'the queued tokens do not open: their vault key is not in VAULT_KEYS',
      })
      if (tooOld) await queue.remove(entry)
      else await queue.retryLater(entry, { dueAt: this.#nextTry(entry), tokens: null })
      return
    }
    const attempt = await this.#attempt(entry.tokens)
    if (attempt.outcome !== 'unreachable') {
      await queue.remove(entry)
      metrics.countRevocation(attempt.outcome === 'revoked' ? 'ok' : 'already_dead')
      audit('revocation_succeeded', { ...fields, outcome: attempt.outcome })
      return
    }
    if (tooOld) {
      await queue.remove(entry)
      metrics.countRevocation('failed')
      audit('revocation_failed', {
        ...fields,
        why: 'Dropbox stayed unreachable until the maximum age: the grant may still be alive',
      })
      return
    }
    await queue.retryLater(entry, {
      dueAt: this.#nextTry(entry),
      tokens: attempt.tokens,
    })
  }

  #nextTry(entry: QueuedRevocation): Date {
    const { baseDelayMs, maxDelayMs } = this.#policy
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(entry.attempts, 20))
    return new Date(this.#deps.clock() + delay)
  }

  async #attempt(tokens: TokenSet): Promise<Attempt> {
    const { auth, clock } = this.#deps
    let current = tokens
    let refreshed = false
    if (needsRefresh(current, clock())) {
      const next = await this.#refresh(current)
      if (next.outcome !== 'refreshed') return next
      current = next.tokens
      refreshed = true
    }
    const answer = await auth.revoke(current.accessToken)
    if (answer === 'revoked') return { outcome: 'revoked' }
    if (answer === 'unreachable') return { outcome: 'unreachable', tokens: current }
    // Refused: expired early, or the grant is gone. A fresh token tells which.
    if (refreshed) return { outcome: 'unreachable', tokens: current }
    const next = await this.#refresh(current)
    if (next.outcome !== 'refreshed') return next
    const again = await auth.revoke(next.tokens.accessToken)
    if (again === 'revoked') return { outcome: 'revoked' }
    return { outcome: 'unreachable', tokens: next.tokens }
  }

  async #refresh(
    tokens: TokenSet,
  ): Promise<
    { outcome: 'refreshed'; tokens: TokenSet } | Exclude<Attempt, { outcome: 'revoked' }>
  > {
    try {
      const refreshed = await this.#deps.auth.refresh(tokens.refreshToken)
      return {
        outcome: 'refreshed',
        tokens: {
          accessToken: refreshed.accessToken,
          accessTokenExpiresAt: refreshed.accessTokenExpiresAt,
          refreshToken: refreshed.refreshToken ?? tokens.refreshToken,
        },
      }
    } catch (error) {
      if (error instanceof ReconnectRequiredError) return { outcome: 'already_dead' }
      return { outcome: 'unreachable', tokens }
    }
  }
}

/**
 * Drains at once (so a restart picks up what an earlier process queued) and then every
 * `intervalMs`; one round at a time per process. `stop` waits for a running round.
 */
const STOP_WAIT_MS = 5_000

export function drainPeriodically(
  revoker: Revoker,
  intervalMs: number,
  onError: (error: unknown) => void,
): { stop(): Promise<void> } {
  let running: Promise<void> | null = null
  const tick = () => {
    if (running !== null) return
    running = revoker
      .drain()
      .then(
        () => {},
        (error: unknown) => onError(error),
      )
      .finally(() => {
        running = null
      })
  }
  const timer = setInterval(tick, intervalMs)
  timer.unref()
  tick()
  return {
    /** Waits for a round in flight, but never longer than `STOP_WAIT_MS`: a round stuck on a
     * database that went away must not hold shutdown (the entries stay queued for next time). */
    async stop() {
      clearInterval(timer)
      let timeout: NodeJS.Timeout | undefined
      await Promise.race([
        running,
        new Promise<void>((resolve) => {
          timeout = setTimeout(resolve, STOP_WAIT_MS)
        }),
      ])
      clearTimeout(timeout)
    },
  }
}
