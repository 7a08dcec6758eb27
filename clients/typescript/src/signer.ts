/** The `X-Identity-Assertion` header (contract §2): a short-lived JWS naming the user (jose). */
import { importJWK, type JWK, SignJWT } from 'jose'

export const DEFAULT_AUDIENCE = 'cloud-connector'
/** The connector refuses more than 300 s; a minute covers clock skew. */
export const DEFAULT_LIFETIME_SECONDS = 60
const MAX_LIFETIME_SECONDS = 300

export interface IdentitySignerOptions {
  /** The private JWK from `npm run identity:keygen` (Ed25519), or a P-256 one (ES256). */
  privateJwk: JWK
  /** The connector's `IDENTITY_ISSUER`. */
  issuer: string
  audience?: string
  lifetimeSeconds?: number
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
  const audience = options.audience ?? DEFAULT_AUDIENCE
  const clock = options.clock ?? Date.now
  const key = await importJWK(privateJwk, algorithm)
  return {
    kid,
    algorithm,
    async assertion(userId) {
      if (userId.length < 1 || userId.length > 255) {
        throw new RangeError('the user id must be 1 to 255 characters')
      }
      const now = Math.floor(clock() / 1000)
      return new SignJWT({})
        .setProtectedHeader({ alg: algorithm, kid })
        .setIssuer(issuer)
        .setAudience(audience) // one string, never a list
        .setSubject(userId)
        .setIssuedAt(now)
        .setExpirationTime(now + lifetime)
        .sign(key)
    },
  }
}
