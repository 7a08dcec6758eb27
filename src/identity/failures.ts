/**
 * Turns a failed check into `invalid_identity` with a detail naming the check (contract §2, §6).
 * Details are fixed strings: jose's messages are not passed on, and nothing the caller sent
 * (token, kid, claim values) is ever echoed.
 */
import { errors } from 'jose'
import { ServiceError } from '../errors.ts'

export function identityFailure(detail: string): ServiceError {
  return new ServiceError('invalid_identity', detail)
}

const CLAIM_MISMATCH: Record<string, string> = {
  iss: 'issuer does not match',
  aud: 'audience does not match',
  nbf: 'the assertion is not valid yet',
}

// Claim names come from jose's fixed list of registered claims, never from the token.
const KNOWN_CLAIMS = new Set(['iss', 'aud', 'sub', 'iat', 'exp', 'nbf'])

export function fromJoseError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error
  if (error instanceof errors.JWTExpired) return identityFailure('the assertion has expired')
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = KNOWN_CLAIMS.has(error.claim) ? error.claim : 'a'
    if (error.reason === 'missing') return identityFailure(`the "${claim}" claim is missing`)
    if (error.reason === 'invalid') return identityFailure(`the "${claim}" claim must be a number`)
    return identityFailure(CLAIM_MISMATCH[claim] ?? `the "${claim}" claim check failed`)
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return identityFailure('the signing algorithm is not allowed (EdDSA and ES256 only)')
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return identityFailure('the signature does not verify')
  }
  if (error instanceof errors.JOSEError) {
    return identityFailure('the assertion is not a well-formed signed JWT')
  }
  return identityFailure('the assertion could not be verified')
}
