/**
 * Verifies `X-Identity-Assertion` (contract §2): a compact JWS from the main app whose `sub` is the
 * user id. Framework-free; the HTTP plugin is a thin adapter over `verify`.
 */
import { type JWTHeaderParameters, jwtVerify } from 'jose'
import type { ServiceError } from '../errors.ts'
import { fromJoseError, identityFailure } from './failures.ts'
import { importKeyRing, type KeyRing, SUPPORTED_ALGORITHMS } from './keys.ts'
import { type VerifiedAssertion, VerifiedCache } from './verified-cache.ts'

export const CLOCK_TOLERANCE_SECONDS = 30
export const MAX_LIFETIME_SECONDS = 300
export const MAX_SUBJECT_LENGTH = 255
/** Far above any real assertion (~300 bytes), low enough to refuse junk before parsing it. */
export const MAX_ASSERTION_BYTES = 8192
const DEFAULT_CACHE_SIZE = 10_000
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

export interface IdentityVerifierOptions {
  jwks: { keys: ReadonlyArray<unknown> }
  issuer: string
  audience: string
  /** Milliseconds since the epoch; tests move it instead of sleeping. */
  clock?: () => number
  /** Verified assertions kept; 0 turns the cache off (the benchmark measures both). */
  cacheSize?: number
}

export interface VerifiedIdentity {
  userId: string
  /** The key id that verified the signature; the caller is looked up by it. */
  kid: string
  /** The `exp` claim, seconds since the epoch. */
  expiresAt: number
}

export interface IdentityVerifierStats {
  cacheHits: number
  /** Tokens handed to jose for a signature check (cache misses that passed the cheap checks). */
  signatureChecks: number
}

export interface IdentityVerifier {
  /** Resolves with the verified identity or throws `ServiceError('invalid_identity')`. */
  verify(token: string): Promise<VerifiedIdentity>
  /**
   * `verify`'s answer when the cache has one, synchronously: the identity, or the same failure
   * thrown. `undefined`: not in the cache, `verify` must check the signature. It spares the
   * request path a promise and a microtask turn per request (docs/performance.md).
   */
  verifyCached(token: string): VerifiedIdentity | undefined
  stats(): IdentityVerifierStats
}

export async function createIdentityVerifier(
  options: IdentityVerifierOptions,
): Promise<IdentityVerifier> {
  if (!options.issuer) throw new TypeError('identity verifier: "issuer" is required')
  if (!options.audience) throw new TypeError('identity verifier: "audience" is required')
  const keys = await importKeyRing(options.jwks)
  const clock = options.clock ?? Date.now
  const cache = new VerifiedCache(options.cacheSize ?? DEFAULT_CACHE_SIZE)
  const stats: IdentityVerifierStats = { cacheHits: 0, signatureChecks: 0 }
  const resolveKey = keyResolver(keys)
  const verifyOptions = {
    algorithms: SUPPORTED_ALGORITHMS,
    issuer: options.issuer,
    audience: options.audience,
    requiredClaims: ['sub', 'iat', 'exp'],
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  }

  async function verifyUncached(token: string, now: number): Promise<VerifiedAssertion> {
    if (token.length > MAX_ASSERTION_BYTES) {
      throw identityFailure(`the assertion is larger than ${MAX_ASSERTION_BYTES} bytes`)
    }
    if (!COMPACT_JWS.test(token)) {
      throw identityFailure('the assertion is not a compact JWS (header.payload.signature)')
    }
    stats.signatureChecks++
    let payload: Record<string, unknown>
    let kid: string
    try {
      // The same whole second the cache and the extra checks use.
      const result = await jwtVerify(token, resolveKey, {
        ...verifyOptions,
        currentDate: new Date(now * 1000),
      })
      payload = result.payload
      // The key resolver accepted only a string kid from the pinned ring.
      kid = result.protectedHeader.kid as string
    } catch (error) {
      throw fromJoseError(error)
    }
    return checkClaims(payload, kid, now)
  }

  function verifyCached(token: string): VerifiedIdentity | undefined {
    if (typeof token !== 'string' || token === '') throw identityFailure('the assertion is empty')
    const cached = cache.get(token)
    if (cached === undefined) return undefined
    // The time checks are the only ones whose answer changes after a token passed once.
    const failure = timeFailure(cached, Math.floor(clock() / 1000))
    if (failure !== undefined) {
      cache.delete(token)
      throw failure
    }
    stats.cacheHits++
    return identityOf(cached)
  }

  return {
    async verify(token) {
      const cached = verifyCached(token)
      if (cached !== undefined) return cached
      const verified = await verifyUncached(token, Math.floor(clock() / 1000))
      cache.set(token, verified)
      return identityOf(verified)
    },
    verifyCached,
    stats: () => ({ ...stats }),
  }
}

/** What a caller gets: a copy, so nothing it does reaches the cached entry. */
function identityOf(entry: VerifiedAssertion): VerifiedIdentity {
  return { userId: entry.userId, kid: entry.kid, expiresAt: entry.expiresAt }
}

/**
 * Keys come only from the pinned ring: `jku`, `x5u`, `jwk` and `x5c` in the header are never
 * read, so nothing is fetched and no key travels with the token (RFC 8725 §3.10).
 */
function keyResolver(keys: KeyRing) {
  return (header: JWTHeaderParameters) => {
    if (header.kid === undefined) throw identityFailure('the assertion header has no key id')
    const entry = typeof header.kid === 'string' ? keys.get(header.kid) : undefined
    if (entry === undefined) throw identityFailure('unknown key id')
    if (!entry.algorithms.has(header.alg)) {
      throw identityFailure('the signing algorithm does not match the key')
    }
    return entry.key
  }
}

/** The checks jose has no option for (contract §2). */
function checkClaims(
  payload: Record<string, unknown>,
  kid: string,
  now: number,
): VerifiedAssertion {
  if (typeof payload.aud !== 'string') throw identityFailure('the audience must be a single value')
  const { sub, iat, exp } = payload
  // Code points, so a Python main app's len(user_id) gives the same answer.
  if (typeof sub !== 'string' || sub === '' || [...sub].length > MAX_SUBJECT_LENGTH) {
    throw identityFailure(
      `the subject must be a non-empty string of at most ${MAX_SUBJECT_LENGTH} characters`,
    )
  }
  // jose has checked presence and that both are numbers.
  const verified = { userId: sub, kid, issuedAt: iat as number, expiresAt: exp as number }
  if (verified.expiresAt - verified.issuedAt > MAX_LIFETIME_SECONDS) {
    throw identityFailure(`the assertion lifetime exceeds ${MAX_LIFETIME_SECONDS} seconds`)
  }
  const failure = timeFailure(verified, now)
  if (failure !== undefined) throw failure
  return verified
}

/** Same rule as jose for `exp` (expired once `exp <= now - tolerance`), mirrored for `iat`. */
function timeFailure(entry: VerifiedAssertion, now: number): ServiceError | undefined {
  if (entry.expiresAt <= now - CLOCK_TOLERANCE_SECONDS) {
    return identityFailure('the assertion has expired')
  }
  if (entry.issuedAt > now + CLOCK_TOLERANCE_SECONDS) {
    return identityFailure('the assertion was issued in the future')
  }
  return undefined
}
