/**
 * The pinned verification keys (contract §2): imported once at construction, looked up by `kid`,
 * each bound to the algorithms of its own key type so no header can pick another one.
 */
import { type CryptoKey, importJWK, type JWK } from 'jose'

export interface VerificationKey {
  key: CryptoKey
  /** The `alg` header values this key verifies; both names denote the same Ed25519 scheme. */
  algorithms: ReadonlySet<string>
}

export type KeyRing = ReadonlyMap<string, VerificationKey>

/** Every algorithm any configured key can verify; jose's allowlist, checked before the key. */
export const SUPPORTED_ALGORITHMS = ['EdDSA', 'Ed25519', 'ES256']

const ED25519 = new Set(['EdDSA', 'Ed25519'])
const ES256 = new Set(['ES256'])

function algorithmsFor(jwk: Record<string, unknown>): ReadonlySet<string> | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return ED25519
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return ES256
  return undefined
}

/** Thrown at construction only: a bad key set must stop the boot, never weaken a check. */
export class IdentityKeyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'IdentityKeyError'
  }
}

export async function importKeyRing(jwks: { keys: ReadonlyArray<unknown> }): Promise<KeyRing> {
  if (!Array.isArray(jwks?.keys) || jwks.keys.length === 0) {
    throw new IdentityKeyError('the identity JWKS has no keys')
  }
  const ring = new Map<string, VerificationKey>()
  for (const [index, entry] of jwks.keys.entries()) {
    const name = `identity key ${index + 1}`
    if (typeof entry !== 'object' || entry === null)
      throw new IdentityKeyError(`${name} is not a JWK`)
    const jwk = entry as Record<string, unknown>
    const kid = jwk.kid
    if (typeof kid !== 'string' || kid === '') throw new IdentityKeyError(`${name} has no "kid"`)
    if (ring.has(kid)) throw new IdentityKeyError(`the key id "${kid}" appears twice`)
    if ('d' in jwk) throw new IdentityKeyError(`key "${kid}" is a private key`)
    const algorithms = algorithmsFor(jwk)
    if (!algorithms) {
      throw new IdentityKeyError(`key "${kid}" must be an Ed25519 (OKP) or P-256 (EC) public key`)
    }
    if (jwk.use !== undefined && jwk.use !== 'sig') {
      throw new IdentityKeyError(`key "${kid}" is not a signature key ("use" is not "sig")`)
    }
    if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) {
      throw new IdentityKeyError(`key "${kid}" does not allow "verify" in "key_ops"`)
    }
    if (jwk.alg !== undefined && !algorithms.has(jwk.alg as string)) {
      throw new IdentityKeyError(`key "${kid}" declares an "alg" its key type cannot use`)
    }
    // Only the public members reach the import, so a stray "alg" or "key_ops" cannot restrict
    // the CryptoKey in a way that differs from the checks above.
    const { kty, crv, x, y } = jwk
    const publicJwk = (y === undefined ? { kty, crv, x } : { kty, crv, x, y }) as JWK
    let key: CryptoKey
    try {
      key = (await importJWK(publicJwk, algorithms === ES256 ? 'ES256' : 'EdDSA')) as CryptoKey
    } catch {
      throw new IdentityKeyError(`key "${kid}" is not a valid public key`)
    }
    ring.set(kid, { key, algorithms })
  }
  return ring
}
