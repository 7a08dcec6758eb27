/**
 * `ConnectSessionVault` on PostgreSQL, with the same contract as the SQLite one. Each flow step
 * is one guarded `UPDATE … WHERE status = $from AND expires_at > $now RETURNING`: concurrent
 * callers (on any replica) queue on the row lock and every one after the first re-checks the
 * condition against the committed row, so exactly one of them wins the step.
 */
import { randomUUID } from 'node:crypto'
import { and, eq, gt, lt, sql } from 'drizzle-orm'
import type { KeyRing } from './key-ring.ts'
import type { PgVaultDeps } from './pg-connection-vault.ts'
import type { PgVaultDb } from './pg-db.ts'
import { connectSessions } from './pg-schema.ts'
import type { ConnectSession, ConnectSessionVault, Provider } from './ports.ts'
import {
  ERASED_SECRETS,
  openSessionSecret,
  sealCode,
  sealVerifier,
  toSession,
} from './session-rows.ts'

type CallbackOutcome =
  | { status: 'authorized'; code: string }
  | { status: 'denied' }
  | { status: 'failed'; errorCode: string }

export class PgConnectSessionVault implements ConnectSessionVault {
  readonly #db: PgVaultDb
  readonly #ring: KeyRing
  readonly #clock: () => Date

  constructor(deps: PgVaultDeps) {
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
    const [row] = await this.#db
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
    if (!row) throw new Error('insert returned no row')
    return toSession(row)
  }

  async findById(id: string): Promise<ConnectSession | null> {
    const [row] = await this.#db.select().from(connectSessions).where(eq(connectSessions.id, id))
    return row ? toSession(row) : null
  }

  async start(input: {
    connectTokenHash: string
    stateHash: string
    flowCookieHash: string
    codeVerifier: string
    now: Date
  }): Promise<ConnectSession | null> {
    const [session] = await this.#db
      .select()
      .from(connectSessions)
      .where(eq(connectSessions.connectTokenHash, input.connectTokenHash))
    if (!session) return null
    // The id, user and provider never change, so the verifier may be sealed before the guard.
    const verifier = sealVerifier(this.#ring, session, input.codeVerifier)
    const [row] = await this.#db
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
    return row ? toSession(row) : null
  }

  async findStartedByState(
    stateHash: string,
    now: Date,
  ): Promise<(ConnectSession & { flowCookieHash: string }) | null> {
    const [row] = await this.#db
      .select()
      .from(connectSessions)
      .where(
        and(
          eq(connectSessions.stateHash, stateHash),
          eq(connectSessions.status, 'started'),
          gt(connectSessions.expiresAt, now),
        ),
      )
    if (!row || row.flowCookieHash === null) return null
    return { ...toSession(row), flowCookieHash: row.flowCookieHash }
  }

  async finishCallback(id: string, outcome: CallbackOutcome): Promise<ConnectSession | null> {
    const now = this.#clock()
    const [session] = await this.#db
      .select()
      .from(connectSessions)
      .where(eq(connectSessions.id, id))
    if (session?.status !== 'started') return null
    const changes =
      outcome.status === 'authorized'
        ? { status: outcome.status, ...sealCode(this.#ring, session, outcome.code) }
        : {
            status: outcome.status,
            errorCode: outcome.status === 'failed' ? outcome.errorCode : null,
            ...ERASED_SECRETS,
          }
    // A rotation between the read and this write re-seals the same plaintexts under the key we
    // seal with, so the row stays openable with its single key id either way.
    const [row] = await this.#db
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
    return row ? toSession(row) : null
  }

  async claimAuthorization(id: string): Promise<{ code: string; codeVerifier: string } | null> {
    const now = this.#clock()
    const [session] = await this.#db
      .select()
      .from(connectSessions)
      .where(
        and(
          eq(connectSessions.id, id),
          eq(connectSessions.status, 'authorized'),
          gt(connectSessions.expiresAt, now),
        ),
      )
    if (!session) return null
    // Opened before the row changes: a failure leaves the session as it was.
    const secrets = {
      code: openSessionSecret(this.#ring, session, 'authorization_code'),
      codeVerifier: openSessionSecret(this.#ring, session, 'code_verifier'),
    }
    const [claimed] = await this.#db
      .update(connectSessions)
      .set({ status: 'completed', ...ERASED_SECRETS })
      .where(and(eq(connectSessions.id, id), eq(connectSessions.status, 'authorized')))
      .returning({ id: connectSessions.id })
    return claimed ? secrets : null
  }

  async cancel(id: string): Promise<void> {
    await this.#db
      .update(connectSessions)
      .set({
        status: sql`case when ${connectSessions.status} = 'completed' then 'completed' else 'cancelled' end`,
        ...ERASED_SECRETS,
      })
      .where(eq(connectSessions.id, id))
  }

  async purgeExpired(now: Date): Promise<number> {
    const rows = await this.#db
      .delete(connectSessions)
      .where(lt(connectSessions.expiresAt, now))
      .returning({ id: connectSessions.id })
    return rows.length
  }
}
