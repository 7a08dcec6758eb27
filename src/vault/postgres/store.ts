/**
 * `VaultStore` on PostgreSQL (contract §11), shared by replicas. Guarded writes are single
 * `UPDATE … WHERE <guard> RETURNING`: under READ COMMITTED a second writer blocks on the row
 * lock, re-checks the guard on the committed row and matches nothing, so exactly one wins.
 * What is PostgreSQL's own:
 * - `replaceConnection` serialises per user with a transaction-scoped advisory lock, since two
 *   inserts could otherwise both see "no previous row".
 * - A rotation batch locks its rows (`FOR UPDATE`), so a refresh committing on another replica
 *   waits for the batch instead of having its new tokens overwritten by re-sealed old ones.
 * - Leases expire on the database's `clock_timestamp()`, so replicas with skewed clocks agree;
 *   a dead holder is only ever detected by expiry (its machine cannot be probed).
 */
import { asc, eq, gt, sql } from 'drizzle-orm'
import type { Provider } from '../../cloud/models.ts'
import {
  connectionOfUser,
  connectionWrite,
  expiredKeepingGrant,
  expiredWithoutGrant,
  GRANT_TAKEN,
  keepingGrant,
  LEASE_RELEASED,
  leaseFree,
  leaseHeldBy,
  sessionStep,
  startedWithState,
} from '../guards.ts'
import { STORED_KEY_IDS_SQL } from '../key-readiness.ts'
import { claimable, claimedBy, dueAt } from '../revocation-guards.ts'
import type {
  ConnectionChanges,
  ConnectSessionChanges,
  NewConnectionRow,
  NewConnectSessionRow,
  NewRevocationRow,
  Reseal,
  RevocationRow,
  SealedRows,
  SealedTable,
  SessionGuard,
  VaultStore,
} from '../store.ts'
import { openPgVaultDatabase, type PgVaultDatabase } from './db.ts'
import { connections, connectSessions, revocations } from './schema.ts'

const SEALED_TABLES = { connections, connect_sessions: connectSessions, revocations }

export async function openPostgresStore(url: string): Promise<VaultStore> {
  return new PostgresStore(await openPgVaultDatabase(url))
}

class PostgresStore implements VaultStore {
  readonly #database: PgVaultDatabase
  readonly #db: PgVaultDatabase['db']
  // Prepared once: building a Drizzle query costs ~200 µs of CPU, more than the round trip,
  // and these two run on every request.
  readonly #byUser
  readonly #byId

  constructor(database: PgVaultDatabase) {
    this.#database = database
    this.#db = database.db
    const user = connectionOfUser(
      connections,
      sql.placeholder('userId'),
      sql.placeholder('provider'),
    )
    this.#byUser = this.#db.select().from(connections).where(user).prepare('connections_by_user')
    this.#byId = this.#db
      .select()
      .from(connections)
      .where(eq(connections.id, sql.placeholder('id')))
      .prepare('connections_by_id')
  }

  async connectionById(id: string) {
    const [row] = await this.#byId.execute({ id })
    return row
  }

  async connectionByUser(userId: string, provider: Provider) {
    const [row] = await this.#byUser.execute({ userId, provider })
    return row
  }

  async replaceConnection(row: NewConnectionRow) {
    return this.#db.transaction(async (tx) => {
      const key = `connections:${row.provider}:${row.userId}`
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`)
      const [previous] = await tx
        .delete(connections)
        .where(connectionOfUser(connections, row.userId, row.provider))
        .returning()
      const [inserted] = await tx.insert(connections).values(row).returning()
      if (!inserted) throw new Error('insert returned no row')
      return { row: inserted, previous }
    })
  }

  async updateConnection(id: string, changes: ConnectionChanges, expectedVersion?: number) {
    const write = connectionWrite(connections, id, changes, expectedVersion)
    const [row] = await this.#db.update(connections).set(write.set).where(write.where).returning()
    return row
  }

  async deleteConnection(userId: string, provider: Provider) {
    const [row] = await this.#db
      .delete(connections)
      .where(connectionOfUser(connections, userId, provider))
      .returning()
    return row
  }

  async takeLease(connectionId: string, holder: string, ttlMs: number) {
    const now = sql`clock_timestamp()`
    const expiresAt = sql`${now} + ${ttlMs} * interval '1 millisecond'`
    const taken = await this.#db
      .update(connections)
      .set({ refreshLeaseHolder: holder, refreshLeaseExpiresAt: expiresAt })
      .where(leaseFree(connections, connectionId, now))
      .returning({ id: connections.id })
    return taken.length === 1
  }

  async releaseLease(connectionId: string, holder: string) {
    await this.#db
      .update(connections)
      .set(LEASE_RELEASED)
      .where(leaseHeldBy(connections, connectionId, holder))
  }

  async insertSession(row: NewConnectSessionRow) {
    const [inserted] = await this.#db.insert(connectSessions).values(row).returning()
    if (!inserted) throw new Error('insert returned no row')
    return inserted
  }

  async sessionById(id: string) {
    const [row] = await this.#db.select().from(connectSessions).where(eq(connectSessions.id, id))
    return row
  }

  async sessionByConnectToken(connectTokenHash: string) {
    const [row] = await this.#db
      .select()
      .from(connectSessions)
      .where(eq(connectSessions.connectTokenHash, connectTokenHash))
    return row
  }

  async startedSessionByState(stateHash: string, now: Date) {
    const [row] = await this.#db
      .select()
      .from(connectSessions)
      .where(startedWithState(connectSessions, stateHash, now))
    return row
  }

  async updateSession(id: string, changes: ConnectSessionChanges, guard: SessionGuard) {
    const [row] = await this.#db
      .update(connectSessions)
      .set(changes)
      .where(sessionStep(connectSessions, id, guard))
      .returning()
    return row
  }

  async deleteSessionsExpiredBefore(now: Date) {
    const rows = await this.#db
      .delete(connectSessions)
      .where(expiredWithoutGrant(connectSessions, now))
      .returning({ id: connectSessions.id })
    return rows.length
  }

  async sessionsKeepingGrant(expiredBefore: Date, completingExpiredBefore: Date) {
    return this.#db
      .select()
      .from(connectSessions)
      .where(expiredKeepingGrant(connectSessions, expiredBefore, completingExpiredBefore))
  }

  async takeGrant(sessionId: string, grantedTokens: string, revocation: NewRevocationRow | null) {
    return this.#db.transaction(async (tx) => {
      const taken = await tx
        .update(connectSessions)
        .set(GRANT_TAKEN)
        .where(keepingGrant(connectSessions, sessionId, grantedTokens))
        .returning({ id: connectSessions.id })
      if (taken.length === 1 && revocation) await tx.insert(revocations).values(revocation)
      return taken.length === 1
    })
  }

  async insertRevocation(row: NewRevocationRow) {
    await this.#db.insert(revocations).values(row)
  }

  async dueRevocations(now: Date, limit: number) {
    const due = dueAt(revocations, now)
    const rows = await this.#db
      .select({ id: revocations.id })
      .from(revocations)
      .where(due.where)
      .orderBy(due.orderBy)
      .limit(limit)
    return rows.map((row) => row.id)
  }

  async claimRevocation(id: string, now: Date, until: Date, claim: string) {
    // READ COMMITTED re-checks the condition on the row a concurrent claimer just updated.
    const [row] = await this.#db
      .update(revocations)
      .set({ dueAt: until, claim, attempts: sql`${revocations.attempts} + 1` })
      .where(claimable(revocations, id, now))
      .returning()
    return row
  }

  async deleteRevocation(id: string, claim: string) {
    await this.#db.delete(revocations).where(claimedBy(revocations, id, claim))
  }

  async updateRevocation(id: string, claim: string, changes: Partial<RevocationRow>) {
    await this.#db
      .update(revocations)
      .set(changes)
      .where(claimedBy(revocations, id, claim))
  }

  async countRevocations() {
    return this.#db.$count(revocations)
  }

  async rotateBatch<T extends SealedTable>(
    name: T,
    afterId: string,
    limit: number,
    reseal: Reseal<T>,
  ): Promise<Array<SealedRows[T]>> {
    // One table type for the query builder: every table has the `id` and secret columns used.
    const table = SEALED_TABLES[name] as typeof connections
    return this.#db.transaction(async (tx) => {
      const rows = (await tx
        .select()
        .from(table)
        .where(gt(table.id, afterId))
        .orderBy(asc(table.id))
        .limit(limit)
        .for('update')) as unknown as Array<SealedRows[T]>
      for (const row of rows) {
        const changes = reseal(row)
        if (changes) await tx.update(table).set(changes).where(eq(table.id, row.id))
      }
      return rows
    })
  }

  /** Nothing to do: PostgreSQL's MVCC leaves dead tuples to VACUUM, as for every update. */
  async afterRotation() {}

  async storedKeyIds() {
    const rows = await this.#database.client.unsafe(STORED_KEY_IDS_SQL)
    return rows.map((row) => String(row.key_id))
  }

  async checkHealth() {
    await this.#database.checkHealth()
  }

  async close() {
    await this.#database.close()
  }
}
