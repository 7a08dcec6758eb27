/**
 * What the vault needs from a database: row reads and guarded row writes, nothing more. The
 * rules (sealing, compare-and-swap versions, session steps, rotation, lease decisions) live in
 * `connection-vault.ts`, `session-vault.ts` and `rotation.ts`, once for both dialects; each
 * store (`sqlite/store.ts`, `postgres/store.ts`) only says how its dialect runs a query, and
 * names what really differs: how `replaceConnection` serialises, how a rotation batch locks,
 * which clock a lease expires on.
 *
 * Transactions stay inside the stores: better-sqlite3 runs them synchronously, so the one body
 * the vault hands in (a rotation batch's `reseal`) is a synchronous callback.
 */
import type { Provider } from '../cloud/models.ts'
import type { ConnectSessionStatus } from './ports.ts'
import type * as pg from './postgres/schema.ts'
import type * as sqlite from './sqlite/schema.ts'

export type ConnectionRow = sqlite.ConnectionRow
export type ConnectSessionRow = sqlite.ConnectSessionRow
export type NewConnectionRow = typeof sqlite.connections.$inferInsert
export type NewConnectSessionRow = typeof sqlite.connectSessions.$inferInsert
export type RevocationRow = sqlite.RevocationRow
export type NewRevocationRow = typeof sqlite.revocations.$inferInsert

/** Both dialects' rows must be the same types: one vault maps and seals them. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const SAME_ROWS: Same<ConnectionRow, pg.ConnectionRow> &
  Same<ConnectSessionRow, pg.ConnectSessionRow> &
  Same<NewConnectionRow, typeof pg.connections.$inferInsert> &
  Same<NewConnectSessionRow, typeof pg.connectSessions.$inferInsert> &
  Same<RevocationRow, pg.RevocationRow> &
  Same<NewRevocationRow, typeof pg.revocations.$inferInsert> = true
void SAME_ROWS

/** The columns a token, status or root change may write; `version` is the store's to bump. */
export type ConnectionChanges = Partial<
  Pick<
    ConnectionRow,
    | 'accessToken'
    | 'refreshToken'
    | 'accessTokenExpiresAt'
    | 'keyId'
    | 'status'
    | 'reconnectReason'
    | 'missingScope'
    | 'rootType'
    | 'rootNamespaceId'
    | 'homeNamespaceId'
    | 'homePath'
    | 'updatedAt'
  >
>

export type ConnectSessionChanges = Partial<
  Omit<ConnectSessionRow, 'id' | 'userId' | 'provider' | 'connectTokenHash' | 'createdAt'>
>

/** A session write happens only while the row is in one of `from` and, if given, unexpired. */
export interface SessionGuard {
  from: readonly ConnectSessionStatus[]
  unexpiredAt?: Date
}

export type SealedTable = 'connections' | 'connect_sessions' | 'revocations'
export interface SealedRows {
  connections: ConnectionRow
  connect_sessions: ConnectSessionRow
  revocations: RevocationRow
}
/** A rotation's re-sealed secret columns and `keyId` for one row of either table. */
export type Resealed = Partial<
  Pick<ConnectionRow, 'accessToken' | 'refreshToken' | 'keyId'> &
    Pick<ConnectSessionRow, 'code' | 'codeVerifier' | 'grantedTokens'>
>
/** A rotation batch's body: what to write back for a row, or null to leave it alone. */
export type Reseal<T extends SealedTable> = (row: SealedRows[T]) => Resealed | null

export interface VaultStore {
  connectionById(id: string): Promise<ConnectionRow | undefined>
  connectionByUser(userId: string, provider: Provider): Promise<ConnectionRow | undefined>
  /** Atomically deletes the user's connection (returned) and inserts `row` in its place. */
  replaceConnection(
    row: NewConnectionRow,
  ): Promise<{ row: ConnectionRow; previous: ConnectionRow | undefined }>
  /**
   * Writes `changes`; with `expectedVersion`, only while the row still has it, and then bumps
   * `version` (the compare-and-swap). Returns the updated row, or undefined when none matched.
   */
  updateConnection(
    id: string,
    changes: ConnectionChanges,
    expectedVersion?: number,
  ): Promise<ConnectionRow | undefined>
  deleteConnection(userId: string, provider: Provider): Promise<ConnectionRow | undefined>
  /**
   * Gives the lease to `holder` for `ttlMs` if nobody holds an unexpired one; true if taken.
   * Which clock the expiry is on, and whether a dead holder can be recognised, is the dialect's.
   */
  takeLease(connectionId: string, holder: string, ttlMs: number): Promise<boolean>
  /** Clears the lease if `holder` still has it. */
  releaseLease(connectionId: string, holder: string): Promise<void>

  insertSession(row: NewConnectSessionRow): Promise<ConnectSessionRow>
  sessionById(id: string): Promise<ConnectSessionRow | undefined>
  sessionByConnectToken(connectTokenHash: string): Promise<ConnectSessionRow | undefined>
  /** The `started` session with this state hash that is unexpired at `now`. */
  startedSessionByState(stateHash: string, now: Date): Promise<ConnectSessionRow | undefined>
  /** A guarded session step: writes only under `guard`; returns the row, or undefined. */
  updateSession(
    id: string,
    changes: ConnectSessionChanges,
    guard: SessionGuard,
  ): Promise<ConnectSessionRow | undefined>
  /** Deletes the sessions expired before `now` that keep no grant; returns how many. */
  deleteSessionsExpiredBefore(now: Date): Promise<number>
  /** See `expiredKeepingGrant` in `guards.ts`. */
  sessionsKeepingGrant(
    expiredBefore: Date,
    completingExpiredBefore: Date,
  ): Promise<ConnectSessionRow[]>
  /**
   * Takes a session's kept grant if it is still `grantedTokens` and, in the same transaction,
   * queues its revocation (null: it cannot be revoked); true if taken. One taker wins.
   */
  takeGrant(
    sessionId: string,
    grantedTokens: string,
    revocation: NewRevocationRow | null,
  ): Promise<boolean>

  /** The revocation queue (contract §7); see `revocation-queue.ts`. */
  insertRevocation(row: NewRevocationRow): Promise<void>
  /** Ids of up to `limit` entries due at `now`, oldest due first (no state change). */
  dueRevocations(now: Date, limit: number): Promise<string[]>
  /**
   * Claims one entry if it is still due at `now`: one conditional write, so of several claimers
   * exactly one wins. Moves `dueAt` to `until`, sets `claim`, counts the attempt.
   */
  claimRevocation(
    id: string,
    now: Date,
    until: Date,
    claim: string,
  ): Promise<RevocationRow | undefined>
  /** Deletes the entry while `claim` holds it. */
  deleteRevocation(id: string, claim: string): Promise<void>
  /** Writes `changes` while `claim` holds the entry. */
  updateRevocation(
    id: string,
    claim: string,
    changes: Partial<
      Pick<
        RevocationRow,
        'dueAt' | 'accessToken' | 'refreshToken' | 'accessTokenExpiresAt' | 'keyId' | 'claim'
      >
    >,
  ): Promise<void>
  countRevocations(): Promise<number>

  /**
   * One rotation batch in one short transaction: the rows of `table` after `afterId` (by id, at
   * most `limit`), each re-sealed by `reseal` and written back. Returns the rows read.
   */
  rotateBatch<T extends SealedTable>(
    table: T,
    afterId: string,
    limit: number,
    reseal: Reseal<T>,
  ): Promise<Array<SealedRows[T]>>
  /** After a rotation: makes sure old-key ciphertexts do not linger in the dialect's files. */
  afterRotation(): Promise<void>

  /** Every key id some stored row is sealed under (the `vault_keys` readiness check). */
  storedKeyIds(): Promise<string[]>
  /** Throws unless the database answers and every shipped migration is applied. */
  checkHealth(): Promise<void>
  close(): Promise<void>
}
