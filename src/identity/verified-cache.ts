/**
 * Assertions that already passed every check, keyed by the whole token, so a caller making
 * many requests with one assertion pays for the signature once. Map keeps insertion order,
 * which makes it a cheap LRU: a hit moves the entry to the end, eviction takes the front.
 */
export interface VerifiedAssertion {
  userId: string
  /** The `kid` of the key that verified the signature: it names the caller (contract §2). */
  kid: string
  /** The `iat` and `exp` claims, seconds since the epoch: every hit re-checks them. */
  issuedAt: number
  expiresAt: number
}

export class VerifiedCache {
  readonly #entries = new Map<string, VerifiedAssertion>()
  readonly #maxEntries: number

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries
  }

  get size(): number {
    return this.#entries.size
  }

  get(token: string): VerifiedAssertion | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    this.#entries.delete(token)
    this.#entries.set(token, entry)
    return entry
  }

  set(token: string, entry: VerifiedAssertion): void {
    if (this.#maxEntries <= 0) return
    this.#entries.delete(token)
    this.#entries.set(token, entry)
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
  }

  delete(token: string): void {
    this.#entries.delete(token)
  }
}
