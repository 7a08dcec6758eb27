/**
 * The connect flow (contract §3), framework-free. A browser can start and finish the consent,
 * but the code is exchanged only after the main app proves, with its own session, that the
 * user who finished is the user who started (the cross-user session-fixation defence of the
 * OAuth security BCP update).
 */

import type { Provider } from '../cloud/models.ts'
import type { CloudProvider } from '../cloud/protocols.ts'
import { ServiceError } from '../errors.ts'
import type { Audit } from '../observability/audit.ts'
import type { ConnectionVault, ConnectSessionVault } from '../vault/ports.ts'
import { type ConnectionStatusView, connectionStatusView } from './connection-status.ts'
import type { Revoker } from './revocation.ts'
import { hashSecret, pkceChallenge, randomSecret, sameHash } from './secrets.ts'

export const SESSION_TTL_MS = 10 * 60_000

/** A browser-facing failure: shown as a minimal HTML page, never redirected to Dropbox. */
export class ConnectPageError extends Error {
  override name = 'ConnectPageError'
  readonly title: string
  constructor(title: string, message: string) {
    super(message)
    this.title = title
  }
}

export interface ConnectFlowDeps {
  sessions: ConnectSessionVault
  connections: ConnectionVault
  provider: CloudProvider
  publicBaseUrl: string
  returnUrl: string
  clock: () => number
  /** Revokes replaced and disconnected grants at the provider, or queues them (contract §7). */
  revoker: Revoker
  audit: Audit
}

const UPSTREAM_ERROR_CODE = /^[a-z_]{1,64}$/
const UNOPENED_TOKENS =
  'the stored tokens do not open (their vault key is not in VAULT_KEYS): the grant stays alive at Dropbox'

export class ConnectFlow {
  readonly #deps: ConnectFlowDeps
  readonly #provider: Provider

  constructor(deps: ConnectFlowDeps) {
    this.#deps = deps
    this.#provider = deps.provider.name
  }

  async createSession(
    userId: string,
  ): Promise<{ id: string; connectUrl: string; expiresAt: Date }> {
    const { sessions, clock, publicBaseUrl } = this.#deps
    const now = clock()
    await sessions.purgeExpired(new Date(now))
    const token = randomSecret()
    const session = await sessions.create({
      userId,
      provider: this.#provider,
      connectTokenHash: hashSecret(token),
      expiresAt: new Date(now + SESSION_TTL_MS),
    })
    return {
      id: session.id,
      connectUrl: `${publicBaseUrl}/connect?token=${encodeURIComponent(token)}`,
      expiresAt: session.expiresAt,
    }
  }

  /** `GET /connect`: consumes the connect token; returns where to send the browser and its flow cookie. */
  async start(connectToken: string): Promise<{ authorizeUrl: string; flowCookie: string }> {
    const state = randomSecret()
    const flowCookie = randomSecret()
    const codeVerifier = randomSecret()
    const session = await this.#deps.sessions.start({
      connectTokenHash: hashSecret(connectToken),
      stateHash: hashSecret(state),
      flowCookieHash: hashSecret(flowCookie),
      codeVerifier,
      now: new Date(this.#deps.clock()),
    })
    if (!session) {
      throw new ConnectPageError(
        'This connect link cannot be used',
        'The link is unknown, was already used, or has expired. Go back to the application and start again.',
      )
    }
    return {
      authorizeUrl: this.#deps.provider.auth.authorizeUrl({
        state,
        codeChallenge: pkceChallenge(codeVerifier),
      }),
      flowCookie,
    }
  }

  /** `GET /connect/callback`: checks state and cookie, stores the outcome, returns the main app's URL. */
  async finish(input: {
    state?: string
    code?: string
    error?: string
    flowCookie?: string
  }): Promise<string> {
    const invalid = new ConnectPageError(
      'This sign-in could not be completed',
      'The request is not part of a connect flow started in this browser, or it was already used or has expired.',
    )
    if (!input.state || !input.flowCookie) throw invalid
    const session = await this.#deps.sessions.findStartedByState(
      hashSecret(input.state),
      new Date(this.#deps.clock()),
    )
    if (!session || !sameHash(hashSecret(input.flowCookie), session.flowCookieHash)) throw invalid

    let outcome: Parameters<ConnectSessionVault['finishCallback']>[1]
    if (input.code) outcome = { status: 'authorized', code: input.code }
    else if (input.error === 'access_denied') outcome = { status: 'denied' }
    else if (input.error) {
      outcome = {
        status: 'failed',
        errorCode: UPSTREAM_ERROR_CODE.test(input.error) ? input.error : 'unknown_error',
      }
    } else throw invalid

    const finished = await this.#deps.sessions.finishCallback(session.id, outcome)
    if (!finished) throw invalid
    const target = new URL(this.#deps.returnUrl)
    target.searchParams.set('session', session.id)
    if (outcome.status === 'authorized') target.searchParams.set('status', 'authorized')
    else if (outcome.status === 'denied') target.searchParams.set('status', 'denied')
    else {
      target.searchParams.set('status', 'error')
      target.searchParams.set('error', outcome.errorCode)
    }
    return target.toString()
  }

  /** `POST /v1/connect/sessions/{id}/complete`, called by the main app with the user's assertion. */
  async complete(sessionId: string, userId: string): Promise<ConnectionStatusView> {
    const { sessions, connections, provider, clock } = this.#deps
    const session = await sessions.findById(sessionId)
    if (!session) throw new ServiceError('session_not_found', 'No connect session with this id.')
    if (session.userId !== userId) {
      await sessions.cancel(session.id)
      throw new ServiceError(
        'session_user_mismatch',
        'This connect session was started by another user; it has been cancelled.',
      )
    }
    if (session.status === 'completed') {
      throw new ServiceError(
        'session_not_authorized',
        'This connect session was already completed.',
      )
    }
    if (session.expiresAt.getTime() <= clock()) {
      throw new ServiceError(
        'session_expired',
        'This connect session has expired: start a new one.',
      )
    }
    if (session.status !== 'authorized') {
      const why: Record<string, string> = {
        created: 'the user has not opened the connect link yet',
        started: 'the user has not finished the Dropbox consent yet',
        denied: 'the user denied access on Dropbox',
        failed: `Dropbox reported an error (${session.errorCode ?? 'unknown'})`,
        cancelled: 'the session was cancelled',
      }
      throw new ServiceError(
        'session_not_authorized',
        `Not authorized: ${why[session.status] ?? session.status}.`,
      )
    }
    const claimed = await sessions.claimAuthorization(session.id)
    if (!claimed)
      throw new ServiceError(
        'session_not_authorized',
        'This connect session was already completed.',
      )

    const granted = await provider.auth.exchangeCode(claimed)
    // From here Dropbox holds a live grant: whatever stops it from being stored revokes it.
    let stored: Awaited<ReturnType<ConnectionVault['replace']>>
    try {
      const account = await provider.auth.accountForToken(granted.accessToken)
      stored = await connections.replace({
        userId,
        provider: this.#provider,
        accountId: account.accountId,
        email: account.email,
        scopes: granted.scopes,
        tokenType: granted.tokenType,
        rootInfo: account.root,
        tokens: granted,
      })
    } catch (error) {
      await this.#deps.revoker.revokeGrant(granted, {
        userId,
        provider: this.#provider,
        reason: 'failed_connect',
      })
      throw error
    }
    const { connection, previousTokens } = stored
    if (previousTokens) {
      this.#deps.audit('connection_replaced', { user: userId })
      await this.#deps.revoker.revokeGrant(previousTokens, {
        userId,
        provider: this.#provider,
        reason: 'replaced',
      })
    }
    this.#deps.audit('connect_completed', { user: userId })
    return connectionStatusView(connection, granted)
  }

  async status(userId: string): Promise<ConnectionStatusView> {
    const connection = await this.#deps.connections.findByUser(userId, this.#provider)
    const tokens = connection
      ? await this.#deps.connections.openTokens(connection).catch(() => null)
      : null
    return connectionStatusView(connection, tokens)
  }

  /**
   * Deletes locally whatever happens upstream (a user who disconnects must be disconnected),
   * then revokes the grant or queues it (contract §7).
   */
  async disconnect(userId: string): Promise<void> {
    const removed = await this.#deps.connections.remove(userId, this.#provider)
    if (!removed) return
    this.#deps.audit('disconnected', { user: userId })
    const owner = { userId, provider: this.#provider, reason: 'disconnected' } as const
    if (removed.tokens) await this.#deps.revoker.revokeGrant(removed.tokens, owner)
    else this.#deps.revoker.unrevocable(owner, UNOPENED_TOKENS)
  }
}
