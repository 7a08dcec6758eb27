/**
 * `ConnectionVault` on PostgreSQL, with the same contract as the SQLite one. Token and status
 * writes are single guarded `UPDATE … WHERE version = $expected RETURNING`: under READ COMMITTED
 * a second writer blocks on the row lock, re-checks the condition on the committed row and
 * matches nothing, so exactly one compare-and-swap wins. `replace` serialises per user with a
 * transaction-scoped advisory lock, since two inserts could otherwise both see "no previous row".
 */
import { randomUUID } from 'node:crypto'
import { and, eq, isNull, lte, or, sql } from 'drizzle-orm'
import { ServiceError } from '../errors.ts'
import { openTokens, openTokensOrNull, sealTokens, toConnection } from './connection-rows.ts'
import type { KeyRing } from './key-ring.ts'
import { newLeaseHolder } from './lease-holder.ts'
import type { PgVaultDb } from './pg-db.ts'
import { connections } from './pg-schema.ts'
import type {
  Connection,
  ConnectionVault,
  NewConnection,
  Provider,
  RefreshLeases,
  RootInfo,
  TokenSet,
} from './ports.ts'
import type { TokenCache } from './token-cache.ts'

export interface PgVaultDeps {
  db: PgVaultDb
  ring: KeyRing
  clock: () => Date
}

export class PgConnectionVault implements ConnectionVault, RefreshLeases {
  readonly #db: PgVaultDb
  readonly #ring: KeyRing
  readonly #clock: () => Date
  readonly #cache: TokenCache
  // Prepared once: building a Drizzle query costs ~200 µs of CPU, more than the round trip,
  // and these two run on every request.
  readonly #byUser
  readonly #byId

  constructor(deps: PgVaultDeps & { cache: TokenCache }) {
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
      .prepare('connections_by_user')
    this.#byId = deps.db
      .select()
      .from(connections)
      .where(eq(connections.id, sql.placeholder('id')))
      .prepare('connections_by_id')
  }

  async findByUser(userId: string, provider: Provider): Promise<Connection | null> {
    const [row] = await this.#byUser.execute({ userId, provider })
    return row ? toConnection(row) : null
  }

  /** Opens the row's current tokens, even if `connection` is an older version of it. */
  async openTokens(connection: Connection): Promise<TokenSet> {
    const cached = this.#cache.get(connection.id, connection.version)
    if (cached) return cached
    const [row] = await this.#byId.execute({ id: connection.id })
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
    const sealed = sealTokens(this.#ring, identity, input.tokens)
    const { row, previous } = await this.#db.transaction(async (tx) => {
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtextextended(${`connections:${input.provider}:${input.userId}`}, 0))`,
      )
      const [previous] = await tx
        .delete(connections)
        .where(and(eq(connections.userId, input.userId), eq(connections.provider, input.provider)))
        .returning()
      const [row] = await tx
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
      if (!row) throw new Error('insert returned no row')
      return { row, previous }
    })
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
    const [identity] = await this.#byId.execute({ id: connectionId })
    if (!identity) return null
    const sealed = sealTokens(this.#ring, identity, tokens)
    const [row] = await this.#db
      .update(connections)
      .set({ ...sealed, version: sql`${connections.version} + 1`, updatedAt: this.#clock() })
      .where(and(eq(connections.id, connectionId), eq(connections.version, expectedVersion)))
      .returning()
    this.#cache.evict(connectionId)
    if (!row) return null
    this.#cache.set(row.id, row.version, tokens)
    return toConnection(row)
  }

  async updateRootInfo(connectionId: string, rootInfo: RootInfo): Promise<Connection | null> {
    const [row] = await this.#db
      .update(connections)
      .set({ ...rootColumns(rootInfo), updatedAt: this.#clock() })
      .where(eq(connections.id, connectionId))
      .returning()
    return row ? toConnection(row) : null
  }

  async markReconnectRequired(
    connectionId: string,
    expectedVersion: number,
  ): Promise<Connection | null> {
    const [row] = await this.#db
      .update(connections)
      .set({
        status: 'reconnect_required',
        version: sql`${connections.version} + 1`,
        updatedAt: this.#clock(),
      })
      .where(and(eq(connections.id, connectionId), eq(connections.version, expectedVersion)))
      .returning()
    this.#cache.evict(connectionId)
    return row ? toConnection(row) : null
  }

  async remove(
    userId: string,
    provider: Provider,
  ): Promise<{ connection: Connection; tokens: TokenSet | null } | null> {
    const [row] = await this.#db
      .delete(connections)
      .where(and(eq(connections.userId, userId), eq(connections.provider, provider)))
      .returning()
    if (!row) return null
    this.#cache.evict(row.id)
    return { connection: toConnection(row), tokens: openTokensOrNull(this.#ring, row) }
  }

  /**
   * Expiry is the database's clock, so replicas with skewed clocks agree on it. A dead holder is
   * only ever detected by expiry: replicas run on other machines, where no process can be probed.
   */
  async tryAcquire(connectionId: string, ttlMs: number): Promise<string | null> {
    const holder = newLeaseHolder()
    const rows = await this.#db
      .update(connections)
      .set({
        refreshLeaseHolder: holder,
        refreshLeaseExpiresAt: sql`clock_timestamp() + ${Math.max(1, Math.round(ttlMs))} * interval '1 millisecond'`,
      })
      .where(
        and(
          eq(connections.id, connectionId),
          or(
            isNull(connections.refreshLeaseHolder),
            lte(connections.refreshLeaseExpiresAt, sql`clock_timestamp()`),
          ),
        ),
      )
      .returning({ id: connections.id })
    return rows.length === 1 ? holder : null
  }

  async release(connectionId: string, holder: string): Promise<void> {
    await this.#db
      .update(connections)
      .set({ refreshLeaseHolder: null, refreshLeaseExpiresAt: null })
      .where(and(eq(connections.id, connectionId), eq(connections.refreshLeaseHolder, holder)))
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
