/**
 * The connect flow (contract §3), framework-free. A browser can start and finish the consent,
 * but the code is exchanged only after the main app proves, with its own session, that the
 * user who finished is the user who started (the cross-user session-fixation defence of the
 * OAuth security BCP update).
 */

import { isTransientUpstreamError } from '../cloud/errors.ts'
import type { CloudAccount, Provider } from '../cloud/models.ts'
import type { CloudProvider, GrantedTokens } from '../cloud/protocols.ts'
import { ServiceError } from '../errors.ts'
import type { Audit } from '../observability/audit.ts'
import type {
  ConnectionVault,
  ConnectSession,
  ConnectSessionVault,
  EndedGrant,
} from '../vault/ports.ts'
import { ENDED_GRANT_REASON } from '../vault/ports.ts'
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

const NOT_AUTHORIZED: Partial<Record<ConnectSession['status'], string>> = {
  created: 'the user has not opened the connect link yet',
  started: 'the user has not finished the Dropbox consent yet',
  denied: 'the user denied access on Dropbox',
  failed: 'Dropbox reported an error, or the authorization could not be used',
  cancelled: 'the session was cancelled',
}

/** What a refusal did to the session, truthfully (contract §3.4). */
function refusalOutcome(session: ConnectSession, cancelled: boolean): string {
  if (cancelled) return 'it has been cancelled and nothing was connected.'
  if (session.status === 'completed') return 'it had already been completed and stays so.'
  if (session.status === 'completing') return 'it is being completed and was left alone.'
  return 'it had already ended, so nothing changed.'
}
const UNOPENED_GRANT =
  'the tokens kept by an ended connect session do not open (their vault key is not in VAULT_KEYS): the grant stays alive at Dropbox'
const UNOPENED_TOKENS =
  'the stored tokens do not open (their vault key is not in VAULT_KEYS): the grant stays alive at Dropbox'

/** Who acts: the assertion's user and the calling service it came from (contract §2, §9). */
export interface Actor {
  userId: string
  caller: string
}

export class ConnectFlow {
  readonly #deps: ConnectFlowDeps
  readonly #provider: Provider

  constructor(deps: ConnectFlowDeps) {
    this.#deps = deps
    this.#provider = deps.provider.name
  }

  async createSession(actor: Actor): Promise<{ id: string; connectUrl: string; expiresAt: Date }> {
    const { userId, caller } = actor
    const { sessions, clock, publicBaseUrl } = this.#deps
    const now = clock()
    await this.purgeExpired()
    const token = randomSecret()
    const session = await sessions.create({
      userId,
      provider: this.#provider,
      connectTokenHash: hashSecret(token),
      expiresAt: new Date(now + SESSION_TTL_MS),
    })
    this.#deps.audit('connect_session_created', { user: userId, caller, session: session.id })
    return {
      id: session.id,
      connectUrl: `${publicBaseUrl}/connect?token=${encodeURIComponent(token)}`,
      expiresAt: session.expiresAt,
    }
  }

  /**
   * Deletes expired sessions (on every new session and on a timer). A grant one of them kept
   * goes to the revocation queue, which the drain revokes (contract §3.4, §7).
   */
  async purgeExpired(): Promise<void> {
    const { grants } = await this.#deps.sessions.purgeExpired(new Date(this.#deps.clock()))
    for (const grant of grants) this.#endedGrant(grant)
  }

  async #cancel(sessionId: string): Promise<boolean> {
    const { cancelled, grant } = await this.#deps.sessions.cancel(sessionId)
    if (grant) this.#endedGrant(grant)
    return cancelled
  }

  #endedGrant({ userId, outcome }: EndedGrant): void {
    const owner = { userId, provider: this.#provider, reason: ENDED_GRANT_REASON } as const
    if (outcome === 'queued') this.#deps.revoker.queued(owner)
    else this.#deps.revoker.unrevocable(owner, UNOPENED_GRANT)
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
    // Every refusal leaves an audit line with a fixed reason, never the state or cookie (§9).
    const rejected = (reason: string, session?: { id: string; userId: string }) => {
      this.#deps.audit('callback_rejected', { reason, session: session?.id, user: session?.userId })
      return invalid
    }
    if (!input.state || !input.flowCookie) throw rejected('state or flow cookie missing')
    const session = await this.#deps.sessions.findStartedByState(
      hashSecret(input.state),
      new Date(this.#deps.clock()),
    )
    if (!session) throw rejected('unknown, used or expired state')
    if (!sameHash(hashSecret(input.flowCookie), session.flowCookieHash)) {
      throw rejected('flow cookie of another browser', session)
    }

    let outcome: Parameters<ConnectSessionVault['finishCallback']>[1]
    // Only the browser that consented gets this secret (in the 303 below): `complete` needs it.
    const completion = randomSecret()
    if (input.code) {
      outcome = { status: 'authorized', code: input.code, completionHash: hashSecret(completion) }
    } else if (input.error === 'access_denied') outcome = { status: 'denied' }
    else if (input.error) {
      outcome = {
        status: 'failed',
        errorCode: UPSTREAM_ERROR_CODE.test(input.error) ? input.error : 'unknown_error',
      }
    } else throw rejected('neither code nor error', session)

    const finished = await this.#deps.sessions.finishCallback(session.id, outcome)
    if (!finished) throw rejected('already finished', session)
    const target = new URL(this.#deps.returnUrl)
    target.searchParams.set('session', session.id)
    if (outcome.status === 'authorized') {
      target.searchParams.set('status', 'authorized')
      target.searchParams.set('completion', completion)
    } else if (outcome.status === 'denied') target.searchParams.set('status', 'denied')
    else {
      target.searchParams.set('status', 'error')
      target.searchParams.set('error', outcome.errorCode)
    }
    return target.toString()
  }

  /**
   * `POST /v1/connect/sessions/{id}/complete`, called by the main app with the user's assertion
   * and the completion secret the consenting browser brought back (contract §3.4).
   */
  async complete(
    sessionId: string,
    actor: Actor,
    completion: string | undefined,
  ): Promise<ConnectionStatusView> {
    const { sessions, clock, audit } = this.#deps
    const { userId, caller } = actor
    const session = await sessions.findById(sessionId)
    if (!session) throw new ServiceError('session_not_found', 'No connect session with this id.')
    if (session.userId !== userId) {
      const cancelled = await this.#cancel(session.id)
      audit('session_user_mismatch', {
        user: userId,
        caller,
        session: session.id,
        session_user: session.userId,
        cancelled,
      })
      throw new ServiceError(
        'session_user_mismatch',
        `This connect session was started by another user; ${refusalOutcome(session, cancelled)}`,
      )
    }
    const done = session.status === 'completed' || session.status === 'completing'
    if (!done && session.expiresAt.getTime() <= clock()) {
      throw new ServiceError(
        'session_expired',
        'This connect session has expired: start a new one.',
      )
    }
    if (!done && session.status !== 'authorized') {
      throw new ServiceError(
        'session_not_authorized',
        `Not authorized: ${NOT_AUTHORIZED[session.status] ?? session.status}.`,
      )
    }
    if (
      completion === undefined ||
      session.completionHash === null ||
      !sameHash(hashSecret(completion), session.completionHash)
    ) {
      const cancelled = await this.#cancel(session.id)
      audit('completion_mismatch', { user: userId, caller, session: session.id, cancelled })
      throw new ServiceError(
        'completion_mismatch',
        `The completion secret is missing or is not the one given to the browser that consented; ${refusalOutcome(session, cancelled)}`,
      )
    }
    if (session.status === 'completed') {
      throw new ServiceError(
        'session_already_completed',
        'This connect session was already completed: the connection is in place.',
      )
    }
    const claimed = await sessions.claimAuthorization(session.id)
    if (!claimed) {
      throw new ServiceError(
        'session_not_authorized',
        'Another request is completing this connect session right now.',
      )
    }
    // A first attempt that got as far as the grant kept it: no second exchange (§3.4).
    const granted = 'grant' in claimed ? claimed.grant : await this.#exchange(session.id, claimed)
    const account = await this.#readAccount(session.id, actor, granted)
    try {
      const view = await this.#store(actor, granted, account)
      await sessions.settleCompletion(session.id, { status: 'completed' })
      return view
    } catch (error) {
      // The grant is stored or revoked: a retry could only be refused, so the session ends here.
      await this.#fail(session.id)
      throw error
    }
  }

  /**
   * The code exchange, once: a transient failure leaves the session completable (the same
   * secret works until it expires); Dropbox refusing the code ends it (`410 session_expired`).
   */
  async #exchange(sessionId: string, claimed: { code: string; codeVerifier: string }) {
    const { sessions, provider } = this.#deps
    try {
      return await provider.auth.exchangeCode(claimed)
    } catch (error) {
      const expired = error instanceof ServiceError && error.code === 'session_expired'
      await sessions
        .settleCompletion(
          sessionId,
          expired ? { status: 'failed', errorCode: 'invalid_grant' } : { status: 'authorized' },
        )
        .catch(() => {})
      throw error
    }
  }

  /**
   * From here Dropbox holds a live grant. When the account read fails transiently the session
   * keeps the grant for a retry with the same secret; otherwise the grant is revoked.
   */
  async #readAccount(sessionId: string, actor: Actor, granted: GrantedTokens) {
    try {
      return await this.#deps.provider.auth.accountForToken(granted.accessToken)
    } catch (error) {
      const kept =
        isTransientUpstreamError(error) &&
        (await this.#deps.sessions.keepGrant(sessionId, granted).catch(() => false))
      if (!kept) {
        await this.#revokeUnstored(actor, granted)
        await this.#fail(sessionId)
      }
      throw error
    }
  }

  /** Stores the connection; a grant that cannot be stored is revoked. */
  async #store(
    actor: Actor,
    granted: GrantedTokens,
    account: CloudAccount,
  ): Promise<ConnectionStatusView> {
    const { userId, caller } = actor
    let stored: Awaited<ReturnType<ConnectionVault['replace']>>
    try {
      stored = await this.#deps.connections.replace({
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
      await this.#revokeUnstored(actor, granted)
      throw error
    }
    const { connection, previousTokens } = stored
    if (previousTokens) {
      this.#deps.audit('connection_replaced', { user: userId, caller })
      await this.#deps.revoker.revokeGrant(previousTokens, {
        userId,
        caller,
        provider: this.#provider,
        reason: 'replaced',
      })
    }
    this.#deps.audit('connect_completed', { user: userId, caller })
    return connectionStatusView(connection, granted)
  }

  async #revokeUnstored({ userId, caller }: Actor, granted: GrantedTokens): Promise<void> {
    await this.#deps.revoker.revokeGrant(granted, {
      userId,
      caller,
      provider: this.#provider,
      reason: 'failed_connect',
    })
  }

  async #fail(sessionId: string): Promise<void> {
    await this.#deps.sessions
      .settleCompletion(sessionId, { status: 'failed', errorCode: 'connect_failed' })
      .catch(() => {})
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
  async disconnect({ userId, caller }: Actor): Promise<void> {
    const removed = await this.#deps.connections.remove(userId, this.#provider)
    if (!removed) return
    this.#deps.audit('disconnected', { user: userId, caller })
    const owner = { userId, caller, provider: this.#provider, reason: 'disconnected' } as const
    if (removed.tokens) await this.#deps.revoker.revokeGrant(removed.tokens, owner)
    else this.#deps.revoker.unrevocable(owner, UNOPENED_TOKENS)
  }
}
