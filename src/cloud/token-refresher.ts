/**
 * Token refresh (SPEC §7): proactive 300 s before expiry and reactive after the provider
 * rejects a token; one refresh per connection at a time; committed by compare-and-swap;
 * the refresh token is never lost; `invalid_grant` is terminal.
 */
import type { Metrics } from '../observability/metrics.ts'
import type { Connection, ConnectionVault, TokenSet } from '../vault/ports.ts'
import { CloudError, NotConnectedError, ReconnectRequiredError } from './errors.ts'
import type { CloudAuth } from './protocols.ts'

export const REFRESH_MARGIN_MS = 300_000

export function needsRefresh(tokens: TokenSet, now: number): boolean {
  return now >= tokens.accessTokenExpiresAt.getTime() - REFRESH_MARGIN_MS
}

export interface TokenRefresherDeps {
  vault: ConnectionVault
  auth: CloudAuth
  metrics: Metrics
  clock: () => number
}

export class TokenRefresher {
  readonly #deps: TokenRefresherDeps
  readonly #inFlight = new Map<string, Promise<string>>()

  constructor(deps: TokenRefresherDeps) {
    this.#deps = deps
  }

  /**
   * Returns a usable access token for the connection, refreshing when needed.
   * `rejected` is the token the provider just refused; without it the check is proactive.
   */
  refreshSingleFlight(connection: Connection, rejected?: string): Promise<string> {
    const running = this.#inFlight.get(connection.id)
    if (running) return running
    const refresh = this.#refresh(connection, rejected).finally(() =>
      this.#inFlight.delete(connection.id),
    )
    this.#inFlight.set(connection.id, refresh)
    return refresh
  }

  async #refresh(connection: Connection, rejected: string | undefined): Promise<string> {
    const { vault, auth, metrics, clock } = this.#deps
    // Re-read: another request (or replica) may have refreshed or disconnected meanwhile.
    const current = await vault.findByUser(connection.userId, connection.provider)
    if (!current || current.id !== connection.id) throw new NotConnectedError()
    if (current.status === 'reconnect_required') throw new ReconnectRequiredError()
    const tokens = await vault.openTokens(current)
    const alreadyFresh =
      rejected === undefined ? !needsRefresh(tokens, clock()) : tokens.accessToken !== rejected
    if (alreadyFresh) return tokens.accessToken

    let refreshed: Awaited<ReturnType<CloudAuth['refresh']>>
    try {
      refreshed = await auth.refresh(tokens.refreshToken)
    } catch (error) {
      if (error instanceof ReconnectRequiredError) {
        metrics.countTokenRefresh('invalid_grant')
        await vault.markReconnectRequired(current.id, current.version)
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
    if (committed) return next.accessToken
    // Lost the compare-and-swap to a concurrent writer: its tokens are at least as new.
    const winner = await vault.findByUser(connection.userId, connection.provider)
    if (!winner || winner.id !== connection.id) throw new NotConnectedError()
    return (await vault.openTokens(winner)).accessToken
  }
}
