/** Random values and their hashes for the connect flow: only hashes are stored (contract §3). */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** 256 bits, URL-safe: connect tokens, `state`, flow cookies, PKCE verifiers (RFC 7636 §4.1: 43 chars). */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url')
}

export function hashSecret(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url')
}

export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex')
  const right = Buffer.from(b, 'hex')
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right)
}
