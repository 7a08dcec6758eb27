import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ServiceError } from '../../src/errors.ts'
import { createIdentityVerifier } from '../../src/identity/verifier.ts'
import { createIdentityKeys, TEST_AUDIENCE, TEST_ISSUER } from '../fixtures/identity.ts'
import { claimsAt, NOW, NOW_MS } from './attacks.ts'

async function setup(cacheSize?: number) {
  const keys = await createIdentityKeys()
  let now = NOW_MS
  const verifier = await createIdentityVerifier({
    jwks: keys.jwks,
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    clock: () => now,
    cacheSize,
  })
  return {
    keys,
    verifier,
    /** Moves the clock to NOW + seconds. */
    at: (seconds: number) => {
      now = NOW_MS + seconds * 1000
    },
  }
}

function invalidIdentity(detail: RegExp) {
  return (error: unknown) =>
    error instanceof ServiceError && error.code === 'invalid_identity' && detail.test(error.detail)
}

test('a verified assertion is served from the cache, not re-verified', async () => {
  const { keys, verifier } = await setup()
  const token = await keys.sign(claimsAt({ exp: NOW + 60 }))
  for (let i = 0; i < 5; i++) assert.equal((await verifier.verify(token)).userId, 'user-42')
  assert.deepEqual(verifier.stats(), { cacheHits: 4, signatureChecks: 1 })
})

test('a cached assertion is refused once its exp plus the tolerance has passed', async () => {
  const { keys, verifier, at } = await setup()
  const token = await keys.sign(claimsAt({ exp: NOW + 60 }))
  await verifier.verify(token)
  at(60 + 29)
  assert.equal((await verifier.verify(token)).userId, 'user-42')
  assert.deepEqual(verifier.stats(), { cacheHits: 1, signatureChecks: 1 })
  at(60 + 30)
  await assert.rejects(verifier.verify(token), invalidIdentity(/has expired/))
  await assert.rejects(verifier.verify(token), invalidIdentity(/has expired/))
  assert.equal(verifier.stats().cacheHits, 1)
})

test('a cached assertion is refused when the clock goes back before its iat', async () => {
  const { keys, verifier, at } = await setup()
  const token = await keys.sign(claimsAt())
  await verifier.verify(token)
  at(-31)
  await assert.rejects(verifier.verify(token), invalidIdentity(/issued in the future/))
})

test('refusals are never cached', async () => {
  const { keys, verifier } = await setup()
  const token = await keys.sign(claimsAt({ aud: 'other-service' }))
  for (let i = 0; i < 3; i++) {
    await assert.rejects(verifier.verify(token), invalidIdentity(/audience/))
  }
  assert.deepEqual(verifier.stats(), { cacheHits: 0, signatureChecks: 3 })
})

test('the cache is bounded and evicts the least recently used token', async () => {
  const { keys, verifier } = await setup(2)
  const [a, b, c] = (await Promise.all(
    ['a', 'b', 'c'].map((sub) => keys.sign(claimsAt({ sub }))),
  )) as [string, string, string]
  await verifier.verify(a)
  await verifier.verify(b)
  await verifier.verify(a) // a is now the most recent
  await verifier.verify(c) // evicts b
  assert.deepEqual(verifier.stats(), { cacheHits: 1, signatureChecks: 3 })
  await verifier.verify(a)
  await verifier.verify(b)
  assert.deepEqual(verifier.stats(), { cacheHits: 2, signatureChecks: 4 })
})

test('cacheSize 0 verifies every call', async () => {
  const { keys, verifier } = await setup(0)
  const token = await keys.sign(claimsAt())
  await verifier.verify(token)
  await verifier.verify(token)
  assert.deepEqual(verifier.stats(), { cacheHits: 0, signatureChecks: 2 })
})

test('verifyCached answers from the cache alone, synchronously, with verify’s answers', async () => {
  const { keys, verifier, at } = await setup()
  const token = await keys.sign(claimsAt({ exp: NOW + 60 }))
  // Not yet verified: no signature check here, verify must do it.
  assert.equal(verifier.verifyCached(token), undefined)
  assert.deepEqual(verifier.stats(), { cacheHits: 0, signatureChecks: 0 })
  const verified = await verifier.verify(token)
  assert.deepEqual(verifier.verifyCached(token), verified)
  assert.deepEqual(verifier.stats(), { cacheHits: 1, signatureChecks: 1 })
  assert.throws(() => verifier.verifyCached(''), invalidIdentity(/empty/))
  // An expired hit throws the same failure and leaves the cache, so verify re-checks it.
  at(60 + 30)
  assert.throws(() => verifier.verifyCached(token), invalidIdentity(/has expired/))
  assert.equal(verifier.verifyCached(token), undefined)
  await assert.rejects(verifier.verify(token), invalidIdentity(/has expired/))
  assert.deepEqual(verifier.stats(), { cacheHits: 1, signatureChecks: 2 })
})
