/** An Ed25519 key pair for the main app: it signs with the private JWK, we verify with the JWKS. */
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { KID_PATTERN } from '../config.ts'

export interface IdentityKeyPair {
  privateJwk: JWK
  jwks: { keys: JWK[] }
}

export function defaultKid(now: Date = new Date()): string {
  return `main-app-${now.toISOString().slice(0, 10)}`
}

export async function generateIdentityKeyPair(kid: string): Promise<IdentityKeyPair> {
  if (!KID_PATTERN.test(kid))
    throw new TypeError('the kid must be 1-64 characters of [A-Za-z0-9._-]')
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true })
  const metadata = { kid, alg: 'EdDSA', use: 'sig' }
  return {
    privateJwk: { ...(await exportJWK(privateKey)), ...metadata },
    jwks: { keys: [{ ...(await exportJWK(publicKey)), ...metadata }] },
  }
}
