/**
 * `ConnectSessionVault`, for both dialects, over a `VaultStore`. Each flow step (start, callback,
 * claim, cancel) is one guarded write, `status` in the step's `from` and unexpired: concurrent
 * callers (in any process, on any replica) race on the row and exactly one wins. Secrets are
 * sealed before the write (the id, user and provider of a row never change) and leave the row as
 * soon as the flow no longer needs them.
 */
import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.ts'
import type { Provider } from '../cloud/models.ts'
import type { VaultDeps } from './connection-vault.ts'
import type { KeyRing } from './crypto/key-ring.ts'
import type { ConnectSession, ConnectSessionStatus, ConnectSessionVault } from './ports.ts'
import {
  ERASED_SECRETS,
  openSessionSecret,
  sealCode,
  sealVerifier,
  toSession,
} from './session-rows.ts'
import type { VaultStore } from './store.ts'

type CallbackOutcome =
  | { status: 'authorized'; code: string }
  | { status: 'denied' }
  | { status: 'failed'; errorCode: string }

/** A completed session already made its connection: a cancel only erases what is left. */
const CANCELLABLE: readonly ConnectSessionStatus[] = [
  'created',
  'started',
  'authorized',
  'denied',
  'failed',
  'cancelled',
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
        ? { status: outcome.status, ...sealCode(this.#ring, session, outcome.code) }
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

  async claimAuthorization(id: string): Promise<{ code: string; codeVerifier: string } | null> {
    const now = new Date(this.#clock())
    const session = await this.#store.sessionById(id)
    if (session?.status !== 'authorized' || session.expiresAt <= now) return null
    // Opened before the row changes: a failure leaves the session as it was.
    const secrets = {
      code: openSessionSecret(this.#ring, session, 'authorization_code'),
      codeVerifier: openSessionSecret(this.#ring, session, 'code_verifier'),
    }
    const claimed = await this.#store.updateSession(
      id,
      { status: 'completed', ...ERASED_SECRETS },
      { from: ['authorized'] },
    )
    return claimed ? secrets : null
  }

  /** Cancels a session and erases its secrets (user mismatch). */
  async cancel(id: string): Promise<void> {
    await this.#store.updateSession(
      id,
      { status: 'cancelled', ...ERASED_SECRETS },
      { from: CANCELLABLE },
    )
  }

  async purgeExpired(now: Date): Promise<number> {
    return this.#store.deleteSessionsExpiredBefore(now)
  }
}
