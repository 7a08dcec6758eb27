/**
 * `ConnectionVault` and `RefreshLeases`, for both dialects, over a `VaultStore`. Tokens are
 * sealed to their row before any write; token and status writes are compare-and-swap on
 * `version` (the store bumps it), and every such write evicts the token cache.
 */
import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.ts'
import type { Provider, RootInfo, TokenSet } from '../cloud/models.ts'
import { ServiceError } from '../errors.ts'
import {
  openTokens,
  openTokensOrNull,
  rootColumns,
  sealTokens,
  toConnection,
} from './connection-rows.ts'
import type { KeyRing } from './crypto/key-ring.ts'
import { newLeaseHolder } from './lease-holder.ts'
import type { Connection, ConnectionVault, NewConnection, RefreshLeases } from './ports.ts'
import type { ConnectionRow, VaultStore } from './store.ts'
import type { TokenCache } from './token-cache.ts'

export interface VaultDeps {
  store: VaultStore
  ring: KeyRing
  clock: Clock
}

export class StoredConnectionVault implements ConnectionVault, RefreshLeases {
  readonly #store: VaultStore
  readonly #ring: KeyRing
  readonly #clock: Clock
  readonly #cache: TokenCache

  constructor(deps: VaultDeps & { cache: TokenCache }) {
    this.#store = deps.store
    this.#ring = deps.ring
    this.#clock = deps.clock
    this.#cache = deps.cache
  }

  async findByUser(userId: string, provider: Provider): Promise<Connection | null> {
    const row = await this.#store.connectionByUser(userId, provider)
    return row ? toConnection(row) : null
  }

  /**
   * Opens the row's current tokens, even if `connection` is an older version of it. Versions
   * move on every token write on any replica, and every request reads the row's version first,
   * so a cached entry is never served for a row another process changed.
   */
  async openTokens(connection: Connection): Promise<TokenSet> {
    const cached = this.#cache.get(connection.id, connection.version)
    if (cached) return cached
    const row = await this.#store.connectionById(connection.id)
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
    const now = new Date(this.#clock())
    const identity = { id: randomUUID(), userId: input.userId, provider: input.provider }
    // Sealed before the transaction: the new id is ours, so the write lock is held briefly.
    const { row, previous } = await this.#store.replaceConnection({
      ...identity,
      accountId: input.accountId,
      email: input.email,
      scopes: [...input.scopes],
      tokenType: input.tokenType,
      ...rootColumns(input.rootInfo),
      status: 'connected',
      ...sealTokens(this.#ring, identity, input.tokens),
      version: 1,
      connectedAt: now,
      updatedAt: now,
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
    // user_id and provider never change for an id, so sealing may precede the CAS. A key
    // rotation between the read and the write re-seals under the key we seal with.
    const identity = await this.#store.connectionById(connectionId)
    if (!identity) return null
    const row = await this.#compareAndSwap(connectionId, expectedVersion, {
      ...sealTokens(this.#ring, identity, tokens),
    })
    if (row) this.#cache.set(row.id, row.version, tokens)
    return row ? toConnection(row) : null
  }

  /** Not a token or status change, so `version` stays and in-flight refreshes still commit. */
  async updateRootInfo(connectionId: string, rootInfo: RootInfo): Promise<Connection | null> {
    const row = await this.#store.updateConnection(connectionId, {
      ...rootColumns(rootInfo),
      updatedAt: new Date(this.#clock()),
    })
    return row ? toConnection(row) : null
  }

  async markReconnectRequired(
    connectionId: string,
    expectedVersion: number,
  ): Promise<Connection | null> {
    const row = await this.#compareAndSwap(connectionId, expectedVersion, {
      status: 'reconnect_required',
    })
    return row ? toConnection(row) : null
  }

  async remove(
    userId: string,
    provider: Provider,
  ): Promise<{ connection: Connection; tokens: TokenSet | null } | null> {
    const row = await this.#store.deleteConnection(userId, provider)
    if (!row) return null
    this.#cache.evict(row.id)
    return { connection: toConnection(row), tokens: openTokensOrNull(this.#ring, row) }
  }

  async tryAcquire(connectionId: string, ttlMs: number): Promise<string | null> {
    const holder = newLeaseHolder()
    const taken = await this.#store.takeLease(connectionId, holder, Math.max(1, Math.round(ttlMs)))
    return taken ? holder : null
  }

  async release(connectionId: string, holder: string): Promise<void> {
    await this.#store.releaseLease(connectionId, holder)
  }

  /** A token or status change: only at `expectedVersion`; the cache entry goes either way. */
  async #compareAndSwap(
    connectionId: string,
    expectedVersion: number,
    changes: Parameters<VaultStore['updateConnection']>[1],
  ): Promise<ConnectionRow | undefined> {
    const row = await this.#store.updateConnection(
      connectionId,
      { ...changes, updatedAt: new Date(this.#clock()) },
      expectedVersion,
    )
    this.#cache.evict(connectionId)
    return row
  }
}
