/**
 * `ConnectionVault` on SQLite. Multi-step changes run in one IMMEDIATE transaction (the write
 * lock is taken up front, so a concurrent writer waits on the busy timeout instead of failing
 * with SQLITE_BUSY mid-transaction); token and status writes are compare-and-swap on `version`.
 */
import { randomUUID } from 'node:crypto'
import { and, eq, isNull, lte, or, sql } from 'drizzle-orm'
import { ServiceError } from '../errors.ts'
import { openTokens, openTokensOrNull, sealTokens, toConnection } from './connection-rows.ts'
import type { VaultDb } from './db.ts'
import type { KeyRing } from './key-ring.ts'
import { isDeadLocalHolder, newLeaseHolder } from './lease-holder.ts'
import type {
  Connection,
  ConnectionVault,
  NewConnection,
  Provider,
  RefreshLeases,
  RootInfo,
  TokenSet,
} from './ports.ts'
import { connections } from './schema.ts'
import type { TokenCache } from './token-cache.ts'

export interface VaultDeps {
  db: VaultDb
  ring: KeyRing
  clock: () => Date
}

const IMMEDIATE = { behavior: 'immediate' } as const

export class SqliteConnectionVault implements ConnectionVault, RefreshLeases {
  readonly #db: VaultDb
  readonly #ring: KeyRing
  readonly #clock: () => Date
  readonly #cache: TokenCache
  readonly #byUser
  readonly #byId

  constructor(deps: VaultDeps & { cache: TokenCache }) {
    this.#db = deps.db
    this.#ring = deps.ring
    this.#clock = deps.clock
    this.#cache = deps.cache
    this.#byUser = deps.db
      .select()
      .from(connections)
      .where(
        and(
          eq(connections.userId, sql.placeholder('userId')),
          eq(connections.provider, sql.placeholder('provider')),
        ),
      )
      .prepare()
    this.#byId = deps.db
      .select()
      .from(connections)
      .where(eq(connections.id, sql.placeholder('id')))
      .prepare()
  }

  async findByUser(userId: string, provider: Provider): Promise<Connection | null> {
    const row = this.#byUser.get({ userId, provider })
    return row ? toConnection(row) : null
  }

  /** Opens the row's current tokens, even if `connection` is an older version of it. */
  async openTokens(connection: Connection): Promise<TokenSet> {
    const cached = this.#cache.get(connection.id, connection.version)
    if (cached) return cached
    const row = this.#byId.get({ id: connection.id })
    if (!row || row.userId !== connection.userId || row.provider !== connection.provider) {
      throw new ServiceError('not_connected', 'The connection was removed meanwhile: connect again')
    }
    const tokens = openTokens(this.#ring, row)
    this.#cache.set(row.id, row.version, tokens)
    return tokens
  }

  async replace(
    input: NewConnection,
  ): Promise<{ connection: Connection; previousTokens: TokenSet | null }> {
    const now = this.#clock()
    const identity = { id: randomUUID(), userId: input.userId, provider: input.provider }
    // Sealed before the transaction: the new id is ours, so the write lock is held briefly.
    const sealed = sealTokens(this.#ring, identity, input.tokens)
    const { row, previous } = this.#db.transaction((tx) => {
      const previous = tx
        .select()
        .from(connections)
        .where(and(eq(connections.userId, input.userId), eq(connections.provider, input.provider)))
        .get()
      if (previous) tx.delete(connections).where(eq(connections.id, previous.id)).run()
      const row = tx
        .insert(connections)
        .values({
          ...identity,
          accountId: input.accountId,
          email: input.email,
          scopes: [...input.scopes],
          tokenType: input.tokenType,
          ...rootColumns(input.rootInfo),
          status: 'connected',
          ...sealed,
          version: 1,
          connectedAt: now,
          updatedAt: now,
        })
        .returning()
        .get()
      return { row, previous }
    }, IMMEDIATE)
    if (previous) this.#cache.evict(previous.id)
    return {
      connection: toConnection(row),
      previousTokens: previous ? openTokensOrNull(this.#ring, previous) : null,
    }
  }

  async updateTokens(
    connectionId: string,
    expectedVersion: number,
    tokens: TokenSet,
  ): Promise<Connection | null> {
    // user_id and provider never change for an id, so sealing may precede the CAS.
    const identity = this.#byId.get({ id: connectionId })
    if (!identity) return null
    const sealed = sealTokens(this.#ring, identity, tokens)
    const row = this.#db
      .update(connections)
      .set({ ...sealed, version: sql`${connections.version} + 1`, updatedAt: this.#clock() })
      .where(and(eq(connections.id, connectionId), eq(connections.version, expectedVersion)))
      .returning()
      .get()
    this.#cache.evict(connectionId)
    if (!row) return null
    this.#cache.set(row.id, row.version, tokens)
    return toConnection(row)
  }

  /** Not a token or status change, so `version` stays and in-flight refreshes still commit. */
  async updateRootInfo(connectionId: string, rootInfo: RootInfo): Promise<Connection | null> {
    const row = this.#db
      .update(connections)
      .set({ ...rootColumns(rootInfo), updatedAt: this.#clock() })
      .where(eq(connections.id, connectionId))
      .returning()
      .get()
    return row ? toConnection(row) : null
  }

  async markReconnectRequired(
    connectionId: string,
    expectedVersion: number,
  ): Promise<Connection | null> {
    const row = this.#db
      .update(connections)
      .set({
        status: 'reconnect_required',
        version: sql`${connections.version} + 1`,
        updatedAt: this.#clock(),
      })
      .where(and(eq(connections.id, connectionId), eq(connections.version, expectedVersion)))
      .returning()
      .get()
    this.#cache.evict(connectionId)
    return row ? toConnection(row) : null
  }

  async remove(
    userId: string,
    provider: Provider,
  ): Promise<{ connection: Connection; tokens: TokenSet | null } | null> {
    const row = this.#db
      .delete(connections)
      .where(and(eq(connections.userId, userId), eq(connections.provider, provider)))
      .returning()
      .get()
    if (!row) return null
    this.#cache.evict(row.id)
    return { connection: toConnection(row), tokens: openTokensOrNull(this.#ring, row) }
  }

  /**
   * Expiry is wall-clock time, not the injected clock: it bounds how long a real refresh may
   * take, and every process sharing one SQLite file shares the machine's clock. All of them run
   * on this machine, so a lease left by a process that has died (crashed and restarted) is
   * taken over at once instead of after its expiry.
   */
  async tryAcquire(connectionId: string, ttlMs: number): Promise<string | null> {
    const now = new Date()
    const holder = newLeaseHolder()
    const lease = {
      refreshLeaseHolder: holder,
      refreshLeaseExpiresAt: new Date(now.getTime() + Math.max(1, Math.round(ttlMs))),
    }
    const taken = this.#db
      .update(connections)
      .set(lease)
      .where(
        and(
          eq(connections.id, connectionId),
          or(isNull(connections.refreshLeaseHolder), lte(connections.refreshLeaseExpiresAt, now)),
        ),
      )
      .returning({ id: connections.id })
      .get()
    if (taken) return holder
    const current = this.#db
      .select({ holder: connections.refreshLeaseHolder })
      .from(connections)
      .where(eq(connections.id, connectionId))
      .get()
    if (!current?.holder || !isDeadLocalHolder(current.holder)) return null
    const takenOver = this.#db
      .update(connections)
      .set(lease)
      .where(
        and(eq(connections.id, connectionId), eq(connections.refreshLeaseHolder, current.holder)),
      )
      .returning({ id: connections.id })
      .get()
    return takenOver ? holder : null
  }

  async release(connectionId: string, holder: string): Promise<void> {
    this.#db
      .update(connections)
      .set({ refreshLeaseHolder: null, refreshLeaseExpiresAt: null })
      .where(and(eq(connections.id, connectionId), eq(connections.refreshLeaseHolder, holder)))
      .run()
  }
}

function rootColumns(rootInfo: RootInfo) {
  return {
    rootType: rootInfo.type,
    rootNamespaceId: rootInfo.rootNamespaceId,
    homeNamespaceId: rootInfo.homeNamespaceId,
    homePath: rootInfo.homePath,
  }
}
