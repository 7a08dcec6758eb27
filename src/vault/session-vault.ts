/**
 * `ConnectSessionVault`, for both dialects, over a `VaultStore`. Each flow step (start, callback,
 * claim, cancel) is one guarded write, `status` in the step's `from` and unexpired: concurrent
 * callers (in any process, on any replica) race on the row and exactly one wins. Secrets are
 * sealed before the write (the id, user and provider of a row never change) and leave the row as
 * soon as the flow no longer needs them.
 */
import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.ts'
import type { Provider, TokenSet } from '../cloud/models.ts'
import type { GrantedTokens } from '../cloud/protocols.ts'
import type { VaultDeps } from './connection-vault.ts'
import type { KeyRing } from './crypto/key-ring.ts'
import type {
  ClaimedAuthorization,
  ConnectSession,
  ConnectSessionStatus,
  ConnectSessionVault,
  EndedGrant,
} from './ports.ts'
import { ENDED_GRANT_REASON } from './ports.ts'
import { revocationRow } from './revocation-queue.ts'
import {
  ERASED_SECRETS,
  openGrant,
  openSessionSecret,
  sealCode,
  sealGrant,
  sealVerifier,
  toSession,
} from './session-rows.ts'
import type { ConnectSessionRow, VaultStore } from './store.ts'
import { VaultError } from './vault-error.ts'

type CallbackOutcome =
  | { status: 'authorized'; code: string; completionHash: string }
  | { status: 'denied' }
  | { status: 'failed'; errorCode: string }

/**
 * How long after its expiry a session being completed keeps its grant from the purge: longer
 * than any `complete` takes (a few upstream calls, each bounded by UPSTREAM_TIMEOUT_MS), so a
 * grant is never queued for revocation while its completer may still store it as a connection.
 */
const COMPLETING_GRACE_MS = 10 * 60_000

/**
 * A completed session already made its connection, and one being completed is its user's
 * (the assertion and the completion secret matched): neither is cancelled.
 */
const CANCELLABLE: readonly ConnectSessionStatus[] = [
  'created',
  'started',
  'authorized',
  'denied',
  'failed',
]

export class StoredConnectSessionVault implements ConnectSessionVault {
  readonly #store: VaultStore
  readonly #ring: KeyRing
  readonly #clock: Clock

  constructor(deps: VaultDeps) {
    this.#store = deps.store
    this.#ring = deps.ring
    this.#clock = deps.clock
  }

  async create(input: {
    userId: string
    provider: Provider
    connectTokenHash: string
    expiresAt: Date
  }): Promise<ConnectSession> {
    const row = await this.#store.insertSession({
      id: randomUUID(),
      userId: input.userId,
      provider: input.provider,
      connectTokenHash: input.connectTokenHash,
      status: 'created',
      expiresAt: input.expiresAt,
      createdAt: new Date(this.#clock()),
    })
    return toSession(row)
  }

  async findById(id: string): Promise<ConnectSession | null> {
    const row = await this.#store.sessionById(id)
    return row ? toSession(row) : null
  }

  async start(input: {
    connectTokenHash: string
    stateHash: string
    flowCookieHash: string
    codeVerifier: string
    now: Date
  }): Promise<ConnectSession | null> {
    const session = await this.#store.sessionByConnectToken(input.connectTokenHash)
    if (!session) return null
    const verifier = sealVerifier(this.#ring, session, input.codeVerifier)
    const row = await this.#store.updateSession(
      session.id,
      {
        status: 'started',
        stateHash: input.stateHash,
        flowCookieHash: input.flowCookieHash,
        codeVerifier: verifier.ciphertext,
        keyId: verifier.keyId,
      },
      { from: ['created'], unexpiredAt: input.now },
    )
    return row ? toSession(row) : null
  }

  async findStartedByState(
    stateHash: string,
    now: Date,
  ): Promise<(ConnectSession & { flowCookieHash: string }) | null> {
    const row = await this.#store.startedSessionByState(stateHash, now)
    if (!row || row.flowCookieHash === null) return null
    return { ...toSession(row), flowCookieHash: row.flowCookieHash }
  }

  async finishCallback(id: string, outcome: CallbackOutcome): Promise<ConnectSession | null> {
    const now = new Date(this.#clock())
    const session = await this.#store.sessionById(id)
    if (session?.status !== 'started') return null
    const changes =
      outcome.status === 'authorized'
        ? {
            status: outcome.status,
            completionHash: outcome.completionHash,
            ...sealCode(this.#ring, session, outcome.code),
          }
        : {
            status: outcome.status,
            errorCode: outcome.status === 'failed' ? outcome.errorCode : null,
            // The flow is over: the verifier has nothing left to protect.
            ...ERASED_SECRETS,
          }
    // A rotation between the read and this write re-seals the same plaintexts under the key we
    // seal with, so the row stays openable with its single key id either way.
    const row = await this.#store.updateSession(id, changes, {
      from: ['started'],
      unexpiredAt: now,
    })
    return row ? toSession(row) : null
  }

  async claimAuthorization(id: string): Promise<ClaimedAuthorization | null> {
    const now = new Date(this.#clock())
    const session = await this.#store.sessionById(id)
    if (session?.status !== 'authorized' || session.expiresAt <= now) return null
    // Opened before the row changes: a failure leaves the session as it was.
    const secrets: ClaimedAuthorization =
      session.grantedTokens !== null
        ? { grant: openGrant(this.#ring, session) }
        : {
            code: openSessionSecret(this.#ring, session, 'authorization_code'),
            codeVerifier: openSessionSecret(this.#ring, session, 'code_verifier'),
          }
    // The secrets stay until the completion settles: a transient failure makes it completable again.
    const claimed = await this.#store.updateSession(
      id,
      { status: 'completing' },
      { from: ['authorized'], unexpiredAt: now },
    )
    return claimed ? secrets : null
  }

  async settleCompletion(
    id: string,
    outcome:
      | { status: 'completed' }
      | { status: 'authorized' }
      | { status: 'failed'; errorCode: string },
  ): Promise<void> {
    const changes =
      outcome.status === 'authorized'
        ? { status: outcome.status }
        : {
            status: outcome.status,
            errorCode: outcome.status === 'failed' ? outcome.errorCode : null,
            ...ERASED_SECRETS,
          }
    await this.#store.updateSession(id, changes, { from: ['completing'] })
  }

  async keepGrant(id: string, grant: GrantedTokens): Promise<boolean> {
    const session = await this.#store.sessionById(id)
    if (session?.status !== 'completing') return false
    const row = await this.#store.updateSession(
      id,
      { status: 'authorized', ...sealGrant(this.#ring, session, grant) },
      { from: ['completing'], unexpiredAt: new Date(this.#clock()) },
    )
    return row !== undefined
  }

  /** Cancels a session (a refused complete) and ends its secrets; a kept grant is queued. */
  async cancel(id: string): Promise<{ cancelled: boolean; grant: EndedGrant | null }> {
    // The grant stays until it is queued, so a crash in between leaves it to `purgeExpired`.
    const row = await this.#store.updateSession(
      id,
      { status: 'cancelled', code: null, codeVerifier: null },
      { from: CANCELLABLE },
    )
    if (!row) return { cancelled: false, grant: null }
    if (row.grantedTokens === null) {
      await this.#store.updateSession(id, { keyId: null }, { from: ['cancelled'] })
      return { cancelled: true, grant: null }
    }
    return { cancelled: true, grant: await this.#endGrant(row) }
  }

  async purgeExpired(now: Date): Promise<{ deleted: number; grants: EndedGrant[] }> {
    const grants: EndedGrant[] = []
    const completingBefore = new Date(now.getTime() - COMPLETING_GRACE_MS)
    for (const row of await this.#store.sessionsKeepingGrant(now, completingBefore)) {
      const ended = await this.#endGrant(row)
      if (ended) grants.push(ended)
    }
    // A row whose grant could not be taken (a rotation re-sealed it meanwhile) waits for the next round.
    return { deleted: await this.#store.deleteSessionsExpiredBefore(now), grants }
  }

  /** Moves a kept grant into the revocation queue in one transaction; null if another taker won. */
  async #endGrant(row: ConnectSessionRow): Promise<EndedGrant | null> {
    if (row.grantedTokens === null) return null
    const now = new Date(this.#clock())
    let tokens: TokenSet | null = null
    try {
      const { accessToken, accessTokenExpiresAt, refreshToken } = openGrant(this.#ring, row)
      tokens = { accessToken, accessTokenExpiresAt, refreshToken }
    } catch (error) {
      if (!(error instanceof VaultError)) throw error
    }
    const revocation =
      tokens &&
      revocationRow(
        this.#ring,
        {
          userId: row.userId,
          provider: row.provider,
          reason: ENDED_GRANT_REASON,
          tokens,
          dueAt: now,
        },
        now,
      )
    if (!(await this.#store.takeGrant(row.id, row.grantedTokens, revocation))) return null
    return { userId: row.userId, outcome: revocation ? 'queued' : 'lost' }
  }
}
