/**
 * Token refresh (contract §7, §11): proactive 300 s before expiry and reactive after the provider
 * rejects a token; one refresh per connection at a time, across every replica; committed by
 * compare-and-swap; the refresh token is never lost; `invalid_grant` is terminal.
 *
 * Single-flight has two layers. Within a process, concurrent callers share one promise per
 * connection. Across processes, the one refresher takes the connection's refresh lease in the
 * database (`RefreshLeases`): a conditional write that succeeds only when nobody holds an
 * unexpired lease. Why a lease with an expiry and not a lock held open on a connection
 * (`SELECT … FOR UPDATE`, a PostgreSQL advisory lock): the refresh is an HTTP call to the
 * provider, and holding a database connection and transaction across it would tie pool
 * capacity to the provider's latency; a lease is two short writes, works the same on SQLite
 * (several processes on one file) and PostgreSQL, and a holder that dies (SIGKILL, lost
 * network) stops blocking the others once `leaseMs` passes (on SQLite, where every process is
 * on one machine, a lease whose holder process is gone is taken over at once). The lease is
 * not a fence by itself: a holder slower than `leaseMs` may overlap with the next one, so every
 * outcome is still settled by the version compare-and-swap, and a loser re-reads the row and
 * uses the winner's token — including after `invalid_grant`, which only marks the connection
 * `reconnect_required` if the row is still the version whose refresh token was refused.
 * Waiters poll the row (cheap, and only one waiter per process) until the token changes or
 * the lease is free.
 *
 * Every committed refresh re-reads the account (one `users/get_current_account`) and stores a
 * changed root (contract §4): a personal account that joined a team space is otherwise noticed
 * only by `/v1/me`, since a listing without the path-root header never sees `invalid_root`.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Metrics } from '../observability/metrics.ts'
import type { Connection, ConnectionVault, RefreshLeases } from '../vault/ports.ts'
import {
  CloudError,
  NotConnectedError,
  ReconnectRequiredError,
  upstreamUnavailable,
} from './errors.ts'
import type { TokenSet } from './models.ts'
import type { CloudAuth } from './protocols.ts'

export const REFRESH_MARGIN_MS = 300_000
export const DEFAULT_REFRESH_LEASE_MS = 30_000
const LEASE_POLL_MS = 50

export function needsRefresh(tokens: TokenSet, now: number): boolean {
  return now >= tokens.accessTokenExpiresAt.getTime() - REFRESH_MARGIN_MS
}

export interface TokenRefresherDeps {
  vault: ConnectionVault
  auth: CloudAuth
  metrics: Metrics
  clock: () => number
  /** Cross-process single-flight; without it, refresh is single-flight within this process only. */
  leases?: RefreshLeases
  /** How long a lease holds (`REFRESH_LEASE_MS`); longer than a refresh can take. */
  leaseMs?: number
}

/** The row as the refresher sees it, and whether its access token is good for this caller. */
interface Snapshot {
  connection: Connection
  tokens: TokenSet
  usable: boolean
}

export class TokenRefresher {
  readonly #deps: TokenRefresherDeps
  readonly #leaseMs: number
  readonly #inFlight = new Map<string, Promise<string>>()

  constructor(deps: TokenRefresherDeps) {
    this.#deps = deps
    this.#leaseMs = deps.leaseMs ?? DEFAULT_REFRESH_LEASE_MS
  }

  /**
   * Returns a usable access token for the connection, refreshing when needed.
   * `rejected` is the token the provider just refused; without it the check is proactive.
   */
  refreshSingleFlight(connection: Connection, rejected?: string): Promise<string> {
    const running = this.#inFlight.get(connection.id)
    if (running) return running
    const refresh = this.#refreshAcrossProcesses(connection, rejected).finally(() =>
      this.#inFlight.delete(connection.id),
    )
    this.#inFlight.set(connection.id, refresh)
    return refresh
  }

  async #refreshAcrossProcesses(connection: Connection, rejected?: string): Promise<string> {
    const { leases } = this.#deps
    if (!leases) return this.#refreshWith(await this.#snapshot(connection, rejected), rejected)
    // Real time, not the injected clock: this bounds a wait on other processes.
    const deadline = performance.now() + 2 * this.#leaseMs + 5_000
    for (;;) {
      // Re-read: another request or replica may have refreshed or disconnected meanwhile.
      const seen = await this.#snapshot(connection, rejected)
      if (seen.usable) return seen.tokens.accessToken
      const lease = await leases.tryAcquire(connection.id, this.#leaseMs)
      if (lease !== null) {
        try {
          // The previous holder may have committed between our read and our lease.
          const current = await this.#snapshot(connection, rejected)
          if (current.usable) return current.tokens.accessToken
          return await this.#refreshWith(current, rejected)
        } finally {
          await leases.release(connection.id, lease).catch(() => {})
        }
      }
      if (performance.now() > deadline) throw upstreamUnavailable()
      await sleep(LEASE_POLL_MS + Math.floor(Math.random() * LEASE_POLL_MS))
    }
  }

  async #snapshot(connection: Connection, rejected: string | undefined): Promise<Snapshot> {
    const { vault, clock } = this.#deps
    const current = await vault.findByUser(connection.userId, connection.provider)
    if (!current || current.id !== connection.id) throw new NotConnectedError()
    if (current.status === 'reconnect_required') throw new ReconnectRequiredError()
    const tokens = await vault.openTokens(current)
    const usable =
      rejected === undefined ? !needsRefresh(tokens, clock()) : tokens.accessToken !== rejected
    return { connection: current, tokens, usable }
  }

  async #refreshWith(seen: Snapshot, rejected: string | undefined): Promise<string> {
    const { vault, auth, metrics } = this.#deps
    const { connection: current, tokens } = seen
    if (seen.usable) return tokens.accessToken

    let refreshed: Awaited<ReturnType<CloudAuth['refresh']>>
    try {
      refreshed = await auth.refresh(tokens.refreshToken)
    } catch (error) {
      if (error instanceof ReconnectRequiredError) {
        metrics.countTokenRefresh('invalid_grant')
        const marked = await vault.markReconnectRequired(current.id, current.version)
        // The row moved on meanwhile (a concurrent refresh committed): its token may be good.
        if (!marked) return this.#winnersToken(current, rejected, error)
      } else {
        metrics.countTokenRefresh(
          error instanceof CloudError && error.code.startsWith('upstream')
            ? 'unavailable'
            : 'error',
        )
      }
      throw error
    }
    const next: TokenSet = {
      accessToken: refreshed.accessToken,
      accessTokenExpiresAt: refreshed.accessTokenExpiresAt,
      refreshToken: refreshed.refreshToken ?? tokens.refreshToken,
    }
    const committed = await vault.updateTokens(current.id, current.version, next)
    metrics.countTokenRefresh('ok')
    if (committed) {
      await this.#rereadRoot(committed, next.accessToken)
      return next.accessToken
    }
    // Lost the compare-and-swap to a concurrent writer: its tokens are at least as new.
    const winner = await this.#snapshot(current, undefined)
    return winner.tokens.accessToken
  }

  /**
   * Best effort: the refresh itself succeeded, so a failed account read must not fail the call;
   * the old root stays until the next refresh, `/v1/me` or an `invalid_root` answer moves it.
   */
  async #rereadRoot(connection: Connection, accessToken: string): Promise<void> {
    const { vault, auth } = this.#deps
    try {
      const { root } = await auth.accountForToken(accessToken)
      const stored = connection.rootInfo
      if (
        root.rootNamespaceId !== stored.rootNamespaceId ||
        root.homeNamespaceId !== stored.homeNamespaceId ||
        root.type !== stored.type ||
        root.homePath !== stored.homePath
      ) {
        await vault.updateRootInfo(connection.id, root)
      }
    } catch {
      // Counted by the upstream metrics of the account read itself.
    }
  }

  /** After our refresh was refused: the winner's token if the row has a usable one, else `error`. */
  async #winnersToken(
    connection: Connection,
    rejected: string | undefined,
    error: Error,
  ): Promise<string> {
    const winner = await this.#snapshot(connection, rejected)
    if (winner.usable) return winner.tokens.accessToken
    throw error
  }
}
