/**
 * Opened token sets, so the per-request `openTokens` skips the database read and the unseal.
 * An entry is only good for the version it was opened at: versions move on every token or
 * status write, and writers evict the connection as well. Size 0 disables it.
 */
import type { TokenSet } from '../cloud/models.ts'

export class TokenCache {
  readonly #maxEntries: number
  readonly #entries = new Map<string, { version: number; tokens: TokenSet }>()

  constructor(maxEntries: number) {
    this.#maxEntries = Math.max(0, Math.floor(maxEntries))
  }

  get(connectionId: string, version: number): TokenSet | undefined {
    const entry = this.#entries.get(connectionId)
    if (!entry || entry.version !== version) return undefined
    // Re-insert so Map order doubles as least-recently-used order.
    this.#entries.delete(connectionId)
    this.#entries.set(connectionId, entry)
    return copy(entry.tokens)
  }

  set(connectionId: string, version: number, tokens: TokenSet): void {
    if (this.#maxEntries === 0) return
    this.#entries.delete(connectionId)
    this.#entries.set(connectionId, { version, tokens: copy(tokens) })
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value
      if (oldest === undefined) break
      this.#entries.delete(oldest)
    }
  }

  evict(connectionId: string): void {
    this.#entries.delete(connectionId)
  }

  clear(): void {
    this.#entries.clear()
  }

  get size(): number {
    return this.#entries.size
  }
}

/** Callers get their own object, so mutating one cannot poison the cache. */
function copy(tokens: TokenSet): TokenSet {
  return {
    accessToken: tokens.accessToken,
    accessTokenExpiresAt: new Date(tokens.accessTokenExpiresAt.getTime()),
    refreshToken: tokens.refreshToken,
  }
}
