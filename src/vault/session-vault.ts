/**
 * `ConnectSessionVault` on SQLite. Each flow step (start, callback, claim) is one guarded
 * `UPDATE … WHERE status = ? AND expires_at > ? RETURNING` inside an IMMEDIATE transaction, so
 * exactly one concurrent caller wins it. Secrets leave the row as soon as the flow no longer
 * needs them.
 */
import { randomUUID } from 'node:crypto'
import { and, eq, gt, lt, sql } from 'drizzle-orm'
import type { VaultDeps } from './connection-vault.ts'
import type { VaultDb } from './db.ts'
import type { KeyRing } from './key-ring.ts'
import type { ConnectSession, ConnectSessionVault, Provider } from './ports.ts'
import { connectSessions } from './schema.ts'
import {
  ERASED_SECRETS,
  openSessionSecret,
  sealCode,
  sealVerifier,
  toSession,
} from './session-rows.ts'

const IMMEDIATE = { behavior: 'immediate' } as const

type CallbackOutcome =
  | { status: 'authorized'; code: string }
  | { status: 'denied' }
  | { status: 'failed'; errorCode: string }

export class SqliteConnectSessionVault implements ConnectSessionVault {
  readonly #db: VaultDb
  readonly #ring: KeyRing
  readonly #clock: () => Date

  constructor(deps: VaultDeps) {
    this.#db = deps.db
    this.#ring = deps.ring
    this.#clock = deps.clock
  }

  async create(input: {
    userId: string
    provider: Provider
    connectTokenHash: string
    expiresAt: Date
  }): Promise<ConnectSession> {
    const row = this.#db
      .insert(connectSessions)
      .values({
        id: randomUUID(),
        userId: input.userId,
        provider: input.provider,
        connectTokenHash: input.connectTokenHash,
        status: 'created',
        expiresAt: input.expiresAt,
        createdAt: this.#clock(),
      })
      .returning()
      .get()
    return toSession(row)
  }

  async findById(id: string): Promise<ConnectSession | null> {
    const row = this.#db.select().from(connectSessions).where(eq(connectSessions.id, id)).get()
    return row ? toSession(row) : null
  }

  async start(input: {
    connectTokenHash: string
    stateHash: string
    flowCookieHash: string
    codeVerifier: string
    now: Date
  }): Promise<ConnectSession | null> {
    const row = this.#db.transaction((tx) => {
      const session = tx
        .select()
        .from(connectSessions)
        .where(eq(connectSessions.connectTokenHash, input.connectTokenHash))
        .get()
      if (!session) return undefined
      const verifier = sealVerifier(this.#ring, session, input.codeVerifier)
      return tx
        .update(connectSessions)
        .set({
          status: 'started',
          stateHash: input.stateHash,
          flowCookieHash: input.flowCookieHash,
          codeVerifier: verifier.ciphertext,
          keyId: verifier.keyId,
        })
        .where(
          and(
            eq(connectSessions.id, session.id),
            eq(connectSessions.status, 'created'),
            gt(connectSessions.expiresAt, input.now),
          ),
        )
        .returning()
        .get()
    }, IMMEDIATE)
    return row ? toSession(row) : null
  }

  async findStartedByState(
    stateHash: string,
    now: Date,
  ): Promise<(ConnectSession & { flowCookieHash: string }) | null> {
    const row = this.#db
      .select()
      .from(connectSessions)
      .where(
        and(
          eq(connectSessions.stateHash, stateHash),
          eq(connectSessions.status, 'started'),
          gt(connectSessions.expiresAt, now),
        ),
      )
      .get()
    if (!row || row.flowCookieHash === null) return null
    return { ...toSession(row), flowCookieHash: row.flowCookieHash }
  }

  async finishCallback(id: string, outcome: CallbackOutcome): Promise<ConnectSession | null> {
    const now = this.#clock()
    const row = this.#db.transaction((tx) => {
      const session = tx.select().from(connectSessions).where(eq(connectSessions.id, id)).get()
      if (session?.status !== 'started') return undefined
      const changes =
        outcome.status === 'authorized'
          ? { status: outcome.status, ...sealCode(this.#ring, session, outcome.code) }
          : {
              status: outcome.status,
              errorCode: outcome.status === 'failed' ? outcome.errorCode : null,
              // The flow is over: the verifier has nothing left to protect.
              ...ERASED_SECRETS,
            }
      return tx
        .update(connectSessions)
        .set(changes)
        .where(
          and(
            eq(connectSessions.id, id),
            eq(connectSessions.status, 'started'),
            gt(connectSessions.expiresAt, now),
          ),
        )
        .returning()
        .get()
    }, IMMEDIATE)
    return row ? toSession(row) : null
  }

  async claimAuthorization(id: string): Promise<{ code: string; codeVerifier: string } | null> {
    const now = this.#clock()
    return this.#db.transaction((tx) => {
      const session = tx
        .select()
        .from(connectSessions)
        .where(
          and(
            eq(connectSessions.id, id),
            eq(connectSessions.status, 'authorized'),
            gt(connectSessions.expiresAt, now),
          ),
        )
        .get()
      if (!session) return null
      // Opened before the row changes: a failure rolls back and leaves the session as it was.
      const secrets = {
        code: openSessionSecret(this.#ring, session, 'authorization_code'),
        codeVerifier: openSessionSecret(this.#ring, session, 'code_verifier'),
      }
      const claimed = tx
        .update(connectSessions)
        .set({ status: 'completed', ...ERASED_SECRETS })
        .where(and(eq(connectSessions.id, id), eq(connectSessions.status, 'authorized')))
        .returning({ id: connectSessions.id })
        .get()
      return claimed ? secrets : null
    }, IMMEDIATE)
  }

  async cancel(id: string): Promise<void> {
    this.#db
      .update(connectSessions)
      .set({
        // A completed session already made its connection; it only loses what is left.
        status: sql`case when ${connectSessions.status} = 'completed' then 'completed' else 'cancelled' end`,
        ...ERASED_SECRETS,
      })
      .where(eq(connectSessions.id, id))
      .run()
  }

  async purgeExpired(now: Date): Promise<number> {
    return this.#db.delete(connectSessions).where(lt(connectSessions.expiresAt, now)).run().changes
  }
}
