import assert from 'node:assert/strict'
import { test } from 'node:test'
import { IdentityKeyError } from '../../src/identity/keys.ts'
import { createIdentityVerifier } from '../../src/identity/verifier.ts'
import { createIdentityKeys, TEST_AUDIENCE, TEST_ISSUER } from '../fixtures/identity.ts'

async function build(keys: unknown[]) {
  return createIdentityVerifier({ jwks: { keys }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE })
}

test('a bad key set stops construction with a message naming the key', async () => {
  const { jwks, privateJwk } = await createIdentityKeys({ kid: 'k1' })
  const ok = jwks.keys[0] as Record<string, unknown>
  const cases: Array<[unknown[], RegExp]> = [
    [[], /no keys/],
    [[ok, ok], /"k1" appears twice/],
    [[privateJwk], /"k1" is a private key/],
    [[{ ...ok, kid: undefined }], /identity key 1 has no "kid"/],
    [[{ ...ok, crv: 'X25519' }], /must be an Ed25519 \(OKP\) or P-256 \(EC\) public key/],
    [[{ kty: 'oct', k: 'c2VjcmV0', kid: 'k1' }], /must be an Ed25519/],
    [[{ ...ok, use: 'enc' }], /not a signature key/],
    [[{ ...ok, key_ops: ['sign'] }], /"verify"/],
    [[{ ...ok, alg: 'ES256' }], /"alg" its key type cannot use/],
    [[{ ...ok, x: 'AAAA' }], /"k1" is not a valid public key/],
  ]
  for (const [keys, message] of cases) {
    await assert.rejects(build(keys), (error: unknown) => {
      assert.ok(error instanceof IdentityKeyError)
      assert.match(error.message, message)
      return true
    })
  }
})

test('an issuer and an audience are required', async () => {
  const { jwks } = await createIdentityKeys()
  await assert.rejects(
    createIdentityVerifier({ jwks, issuer: '', audience: TEST_AUDIENCE }),
    /"issuer" is required/,
  )
  await assert.rejects(
    createIdentityVerifier({ jwks, issuer: TEST_ISSUER, audience: '' }),
    /"audience" is required/,
  )
})
