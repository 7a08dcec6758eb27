/** The `X-Identity-Assertion` header (contract §2): a short-lived JWS naming the user (jose). */
import { importJWK, type JWK, SignJWT } from 'jose'

export const DEFAULT_AUDIENCE = 'cloud-connector'
/** The connector refuses more than 300 s; a minute covers clock skew. */
export const DEFAULT_LIFETIME_SECONDS = 60
const MAX_LIFETIME_SECONDS = 300
/** Users whose assertion is kept for reuse; past that, the longest-kept is dropped. */
const MAX_REUSED_USERS = 1000

export interface IdentitySignerOptions {
  /** The private JWK from `npm run identity:keygen` (Ed25519), or a P-256 one (ES256). */
  privateJwk: JWK
  /** The connector's `IDENTITY_ISSUER`. */
  issuer: string
  audience?: string
  lifetimeSeconds?: number
  /**
   * Seconds an assertion is sent again for the same user after it was minted; default half the
   * lifetime, at most half, 0 to mint one per call. The connector verifies a signature once per
   * assertion and answers the repeats from its cache: a fresh assertion on every call costs it
   * a signature check per request (docs/performance.md, row B against A).
   */
  reuseSeconds?: number
  /** Milliseconds since the epoch (tests). */
  clock?: () => number
}

export interface IdentitySigner {
  readonly kid: string
  readonly algorithm: 'EdDSA' | 'ES256'
  assertion(userId: string): Promise<string>
}

function algorithmOf(jwk: JWK): 'EdDSA' | 'ES256' {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  throw new TypeError('the signing key must be an Ed25519 (EdDSA) or P-256 (ES256) JWK')
}

export async function createIdentitySigner(
  options: IdentitySignerOptions,
): Promise<IdentitySigner> {
  const { privateJwk, issuer } = options
  const algorithm = algorithmOf(privateJwk)
  if (privateJwk.d === undefined) {
    throw new TypeError('the signing key is a public JWK; the private one (with "d") signs')
  }
  if (privateJwk.alg !== undefined && privateJwk.alg !== algorithm) {
    throw new TypeError(`the JWK says alg ${privateJwk.alg} but its key is for ${algorithm}`)
  }
  const kid = privateJwk.kid
  if (!kid) throw new TypeError('the signing key needs a kid: the connector selects its key by it')
  if (!issuer) throw new TypeError("issuer is required (the connector's IDENTITY_ISSUER)")
  const lifetime = options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS
  if (!(lifetime > 0 && lifetime <= MAX_LIFETIME_SECONDS)) {
    throw new RangeError(`lifetimeSeconds must be 1..${MAX_LIFETIME_SECONDS}`)
  }
  // Every assertion sent keeps at least half its lifetime, for clock skew and time in flight.
  const reuse = options.reuseSeconds ?? Math.floor(lifetime / 2)
  if (!(Number.isInteger(reuse) && reuse >= 0 && reuse <= lifetime / 2)) {
    throw new RangeError(`reuseSeconds must be an integer from 0 to half of lifetimeSeconds`)
  }
  const audience = options.audience ?? DEFAULT_AUDIENCE
  const clock = options.clock ?? Date.now
  const key = await importJWK(privateJwk, algorithm)
  const mint = (userId: string, now: number) =>
    new SignJWT({})
      .setProtectedHeader({ alg: algorithm, kid })
      .setIssuer(issuer)
      .setAudience(audience) // one string, never a list
      .setSubject(userId)
      .setIssuedAt(now)
      .setExpirationTime(now + lifetime)
      .sign(key)
  // By user id, in the order minted; the promise, so concurrent first calls share one signature.
  const reused = new Map<string, { token: Promise<string>; from: number; until: number }>()
  return {
    kid,
    algorithm,
    async assertion(userId) {
      if (userId.length < 1 || userId.length > 255) {
        throw new RangeError('the user id must be 1 to 255 characters')
      }
      const nowMs = clock()
      const kept = reused.get(userId)
      // A clock set back (NTP) would otherwise keep an assertion past its expiry.
      if (kept !== undefined && kept.from <= nowMs && nowMs < kept.until) return kept.token
      const now = Math.floor(nowMs / 1000)
      const token = mint(userId, now)
      if (reuse === 0) return token
      reused.delete(userId)
      if (reused.size >= MAX_REUSED_USERS) reused.delete(reused.keys().next().value as string)
      const entry = { token, from: now * 1000, until: (now + reuse) * 1000 }
      reused.set(userId, entry)
      token.catch(() => {
        if (reused.get(userId) === entry) reused.delete(userId)
      })
      return token
    },
  }
}
