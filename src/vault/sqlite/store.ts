/**
 * `VaultStore` on SQLite (better-sqlite3: every query is synchronous). What is SQLite's own:
 * - `replaceConnection` and each rotation batch run in an IMMEDIATE transaction: the write lock
 *   is taken up front, so a concurrent writer waits on the busy timeout instead of failing with
 *   SQLITE_BUSY mid-transaction.
 * - Leases expire on this machine's wall clock (every process sharing the file shares it), and a
 *   lease whose holder is a dead process of this machine is taken over at once.
 * - After a rotation the WAL is checkpointed, so frames holding old-key ciphertexts go.
 * - The per-request read of a user's row is skipped while nothing in the file changed
 *   (`unchanged-reads.ts`: `data_version` and `total_changes()`).
 */
import { asc, eq, gt, type SQL, sql } from 'drizzle-orm'
import type { Provider } from '../../cloud/models.ts'
import {
  connectionOfUser,
  connectionWrite,
  expiredKeepingGrant,
  expiredWithoutGrant,
  GRANT_TAKEN,
  keepingGrant,
  LEASE_RELEASED,
  type LeaseColumns,
  leaseFree,
  leaseHeldBy,
  sessionStep,
  startedWithState,
} from '../guards.ts'
import { STORED_KEY_IDS_SQL } from '../key-readiness.ts'
import { isDeadLocalHolder } from '../lease-holder.ts'
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
import { openVaultDatabase, type VaultDatabase } from './db.ts'
import { type ConnectionRow, connections, connectSessions, revocations } from './schema.ts'
import { UnchangedReads } from './unchanged-reads.ts'

const IMMEDIATE = { behavior: 'immediate' } as const
const SEALED_TABLES = { connections, connect_sessions: connectSessions, revocations }

export function openSqliteStore(path: string): VaultStore {
  return new SqliteStore(openVaultDatabase(path))
}

class SqliteStore implements VaultStore {
  readonly #database: VaultDatabase
  readonly #db: VaultDatabase['db']
  // Prepared once: the per-request reads skip building the query.
  readonly #byUser
  readonly #byId
  readonly #usersRows: UnchangedReads<ConnectionRow>

  constructor(database: VaultDatabase) {
    this.#database = database
    this.#db = database.db
    const user = connectionOfUser(
      connections,
      sql.placeholder('userId'),
      sql.placeholder('provider'),
    )
    this.#byUser = this.#db.select().from(connections).where(user).prepare()
    this.#byId = this.#db
      .select()
      .from(connections)
      .where(eq(connections.id, sql.placeholder('id')))
      .prepare()
    this.#usersRows = new UnchangedReads(database.sqlite)
  }

  async connectionById(id: string) {
    return this.#byId.get({ id })
  }

  async connectionByUser(userId: string, provider: Provider) {
    return this.#usersRows.get(provider, userId, () => this.#byUser.get({ userId, provider }))
  }

  async replaceConnection(row: NewConnectionRow) {
    return this.#db.transaction((tx) => {
      const previous = tx
        .delete(connections)
        .where(connectionOfUser(connections, row.userId, row.provider))
        .returning()
        .get()
      return { row: tx.insert(connections).values(row).returning().get(), previous }
    }, IMMEDIATE)
  }

  async updateConnection(id: string, changes: ConnectionChanges, expectedVersion?: number) {
    const write = connectionWrite(connections, id, changes, expectedVersion)
    return this.#db.update(connections).set(write.set).where(write.where).returning().get()
  }

  async deleteConnection(userId: string, provider: Provider) {
    return this.#db
      .delete(connections)
      .where(connectionOfUser(connections, userId, provider))
      .returning()
      .get()
  }

  async takeLease(connectionId: string, holder: string, ttlMs: number) {
    const now = new Date()
    const lease = {
      refreshLeaseHolder: holder,
      refreshLeaseExpiresAt: new Date(now.getTime() + ttlMs),
    }
    if (this.#setLease(lease, leaseFree(connections, connectionId, now))) return true
    // Every process sharing the file runs on this machine: a dead holder need not be waited out.
    const current = this.#byId.get({ id: connectionId })?.refreshLeaseHolder
    if (!current || !isDeadLocalHolder(current)) return false
    return this.#setLease(lease, leaseHeldBy(connections, connectionId, current))
  }

  async releaseLease(connectionId: string, holder: string) {
    this.#setLease(LEASE_RELEASED, leaseHeldBy(connections, connectionId, holder))
  }

  #setLease(lease: LeaseColumns, where: SQL | undefined): boolean {
    return this.#db.update(connections).set(lease).where(where).run().changes === 1
  }

  async insertSession(row: NewConnectSessionRow) {
    return this.#db.insert(connectSessions).values(row).returning().get()
  }

  async sessionById(id: string) {
    return this.#db.select().from(connectSessions).where(eq(connectSessions.id, id)).get()
  }

  async sessionByConnectToken(connectTokenHash: string) {
    return this.#db
      .select()
      .from(connectSessions)
      .where(eq(connectSessions.connectTokenHash, connectTokenHash))
      .get()
  }

  async startedSessionByState(stateHash: string, now: Date) {
    return this.#db
      .select()
      .from(connectSessions)
      .where(startedWithState(connectSessions, stateHash, now))
      .get()
  }

  async updateSession(id: string, changes: ConnectSessionChanges, guard: SessionGuard) {
    return this.#db
      .update(connectSessions)
      .set(changes)
      .where(sessionStep(connectSessions, id, guard))
      .returning()
      .get()
  }

  async deleteSessionsExpiredBefore(now: Date) {
    return this.#db.delete(connectSessions).where(expiredWithoutGrant(connectSessions, now)).run()
      .changes
  }

  async sessionsKeepingGrant(expiredBefore: Date, completingExpiredBefore: Date) {
    return this.#db
      .select()
      .from(connectSessions)
      .where(expiredKeepingGrant(connectSessions, expiredBefore, completingExpiredBefore))
      .all()
  }

  async takeGrant(sessionId: string, grantedTokens: string, revocation: NewRevocationRow | null) {
    return this.#db.transaction((tx) => {
      const taken =
        tx
          .update(connectSessions)
          .set(GRANT_TAKEN)
          .where(keepingGrant(connectSessions, sessionId, grantedTokens))
          .run().changes === 1
      if (taken && revocation) tx.insert(revocations).values(revocation).run()
      return taken
    }, IMMEDIATE)
  }

  async insertRevocation(row: NewRevocationRow) {
    this.#db.insert(revocations).values(row).run()
  }

  async dueRevocations(now: Date, limit: number) {
    const due = dueAt(revocations, now)
    const rows = this.#db
      .select({ id: revocations.id })
      .from(revocations)
      .where(due.where)
      .orderBy(due.orderBy)
      .limit(limit)
      .all()
    return rows.map((row) => row.id)
  }

  async claimRevocation(id: string, now: Date, until: Date, claim: string) {
    return this.#db
      .update(revocations)
      .set({ dueAt: until, claim, attempts: sql`${revocations.attempts} + 1` })
      .where(claimable(revocations, id, now))
      .returning()
      .get()
  }

  async deleteRevocation(id: string, claim: string) {
    this.#db
      .delete(revocations)
      .where(claimedBy(revocations, id, claim))
      .run()
  }

  async updateRevocation(id: string, claim: string, changes: Partial<RevocationRow>) {
    this.#db
      .update(revocations)
      .set(changes)
      .where(claimedBy(revocations, id, claim))
      .run()
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
    return this.#db.transaction((tx) => {
      const rows = tx
        .select()
        .from(table)
        .where(gt(table.id, afterId))
        .orderBy(asc(table.id))
        .limit(limit)
        .all() as unknown as Array<SealedRows[T]>
      for (const row of rows) {
        const changes = reseal(row)
        if (changes) tx.update(table).set(changes).where(eq(table.id, row.id)).run()
      }
      return rows
    }, IMMEDIATE)
  }

  async afterRotation() {
    // Best effort: moves the re-sealed pages into the main file and empties the WAL.
    this.#database.sqlite.pragma('wal_checkpoint(TRUNCATE)')
  }

  async storedKeyIds() {
    return this.#database.sqlite.prepare(STORED_KEY_IDS_SQL).pluck().all() as string[]
  }

  async checkHealth() {
    this.#database.checkHealth()
  }

  async close() {
    this.#database.close()
  }
}
