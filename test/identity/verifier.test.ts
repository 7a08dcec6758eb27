import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { ServiceError } from '../../src/errors.ts'
import { createIdentityVerifier, type IdentityVerifier } from '../../src/identity/verifier.ts'
import { TEST_AUDIENCE, TEST_ISSUER } from '../fixtures/identity.ts'
import { type AttackContext, acceptedCases, buildAttacks, claimsAt, NOW_MS } from './attacks.ts'

let context: AttackContext
let verifier: IdentityVerifier

before(async () => {
  context = await buildAttacks()
  verifier = await createIdentityVerifier({
    jwks: { keys: [...context.keys.jwks.keys, ...context.ecKeys.jwks.keys] },
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    clock: () => NOW_MS,
  })
})
after(() => context.close())

export async function rejection(verifier: IdentityVerifier, token: string): Promise<ServiceError> {
  try {
    await verifier.verify(token)
  } catch (error) {
    assert.ok(error instanceof ServiceError, `expected a ServiceError, got ${String(error)}`)
    assert.equal(error.code, 'invalid_identity')
    return error
  }
  assert.fail('the assertion was accepted')
}

test('every attack fails closed with a detail naming the check', async (t) => {
  for (const attack of context.cases) {
    await t.test(attack.name, async () => {
      // Twice: a refusal must never be cached into an acceptance.
      for (let round = 0; round < 2; round++) {
        const error = await rejection(verifier, attack.token)
        assert.match(error.detail, attack.detail)
        if (attack.token.length > 8) assert.ok(!error.detail.includes(attack.token))
        for (const echo of attack.echoes ?? []) assert.ok(!error.detail.includes(echo), echo)
      }
    })
  }
})

test('the boundaries just inside each limit are accepted', async (t) => {
  for (const accepted of await acceptedCases(context)) {
    await t.test(accepted.name, async () => {
      const identity = await verifier.verify(accepted.token)
      assert.match(identity.userId, /^(user-42|u{255})$/)
    })
  }
})

test('a verified assertion yields the subject, the signing key and the expiry', async () => {
  const token = await context.keys.sign(claimsAt({ sub: 'user-7' }))
  assert.deepEqual(await verifier.verify(token), {
    userId: 'user-7',
    kid: context.keys.kid,
    expiresAt: NOW_MS / 1000 + 120,
  })
})

test('a sub of 255 code points counts characters, not UTF-16 units', async () => {
  const sub = '😀'.repeat(255)
  const identity = await verifier.verify(await context.keys.sign(claimsAt({ sub })))
  assert.equal(identity.userId, sub)
  await rejection(verifier, await context.keys.sign(claimsAt({ sub: `${sub}x` })))
})

test('jku and x5u targets are never fetched', () => {
  assert.equal(context.fetches(), 0)
})

test('oversized tokens are refused before parsing', async () => {
  const token = await context.keys.sign(claimsAt({ pad: 'x'.repeat(9000) }))
  const error = await rejection(verifier, token)
  assert.match(error.detail, /larger than 8192 bytes/)
})

test('only the configured issuer and audience count', async () => {
  const other = await createIdentityVerifier({
    jwks: context.keys.jwks,
    issuer: 'https://other-app.test',
    audience: 'other-connector',
    clock: () => NOW_MS,
  })
  const token = await context.keys.sign(claimsAt())
  assert.match((await rejection(other, token)).detail, /issuer does not match/)
  const forOther = await context.keys.sign(
    claimsAt({ iss: 'https://other-app.test', aud: 'other-connector' }),
  )
  assert.equal((await other.verify(forOther)).userId, 'user-42')
})
