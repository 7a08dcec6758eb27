import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, type TestContext, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import identity, {
  type IdentityPluginOptions,
  requireIdentity,
} from '../../src/http/plugins/identity.ts'
import { createCallers } from '../../src/identity/callers.ts'
import { createIdentityVerifier, type IdentityVerifier } from '../../src/identity/verifier.ts'
import { identityEnv, TEST_AUDIENCE, TEST_ISSUER } from '../fixtures/identity.ts'
import { buildTestApp } from '../helper.ts'
import { type AttackContext, buildAttacks, claimsAt, NOW, NOW_MS } from './attacks.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'
const HEADER = 'x-identity-assertion'

let context: AttackContext
let verifier: IdentityVerifier

before(async () => {
  context = await buildAttacks()
  verifier = await ownVerifier()
})
after(() => context?.close())

/** A verifier with its own, empty cache, trusting both test keys. */
function ownVerifier(clock: () => number = () => NOW_MS): Promise<IdentityVerifier> {
  return createIdentityVerifier({
    jwks: { keys: [...context.keys.jwks.keys, ...context.ecKeys.jwks.keys] },
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    clock,
  })
}

/** An app with `GET /own-v1/whoami` behind the plugin with these options; sends one token. */
async function whoamiBehind(t: TestContext, options: IdentityPluginOptions) {
  const { app } = await buildTestApp(t, {
    env: identityEnv(context.keys, context.ecKeys),
    extraRoutes: (root) => {
      root.register(
        async (v1) => {
          await v1.register(identity, options)
          v1.get('/whoami', { config: { operation: 'me' } }, async (request) =>
            requireIdentity(request),
          )
        },
        { prefix: '/own-v1' },
      )
    },
  })
  return (token: string) =>
    app.inject({ method: 'GET', url: '/own-v1/whoami', headers: { [HEADER]: token } })
}

/** A `/v1`-like scope: the plugin, then routes registered beside it, as app.ts does. */
function probeRoutes(app: FastifyInstance) {
  app.register(
    async (v1) => {
      await v1.register(identity, { verifier })
      const config = { operation: 'me' as const }
      v1.get('/whoami', { config }, async (request) => requireIdentity(request))
      // Callers can name a user anywhere else; none of it may count.
      v1.post('/whoami', { config }, async (request) => requireIdentity(request))
      await v1.register(async (nested) => {
        nested.get('/nested/whoami', { config }, async (request) => requireIdentity(request))
      })
    },
    { prefix: '/test-v1' },
  )
  app.get('/probe/public', async (request) => ({ identity: request.identity ?? null }))
  app.get('/probe/requires-identity', async (request) => requireIdentity(request))
}

async function probeApp(t: TestContext) {
  return buildTestApp(t, {
    env: identityEnv(context.keys, context.ecKeys),
    extraRoutes: probeRoutes,
  })
}

function assertRejected(
  response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  detail: RegExp,
) {
  assert.equal(response.statusCode, 401)
  assert.equal(response.headers['content-type'], PROBLEM)
  const body = response.json() as Record<string, unknown>
  assert.deepEqual(Object.keys(body).sort(), ['code', 'detail', 'status', 'title', 'type'])
  assert.equal(body.code, 'invalid_identity')
  assert.equal(body.status, 401)
  assert.equal(body.type, 'https://cloud-connector.dev/problems/invalid-identity')
  assert.match(String(body.detail), detail)
  return body
}

test('a valid assertion reaches the handler as request.identity', async (t) => {
  const { app } = await probeApp(t)
  for (const keys of [context.keys, context.ecKeys]) {
    const token = await keys.sign(claimsAt({ sub: `user-${keys.alg}` }))
    const response = await app.inject({
      method: 'GET',
      url: '/test-v1/whoami',
      headers: { [HEADER]: token },
    })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), { userId: `user-${keys.alg}`, caller: 'any' })
  }
})

test('routes registered beside the plugin and below it are guarded', async (t) => {
  const { app } = await probeApp(t)
  for (const url of ['/test-v1/whoami', '/test-v1/nested/whoami']) {
    assertRejected(await app.inject({ method: 'GET', url }), /missing X-Identity-Assertion/)
  }
})

test('the query, body and other headers never name the user', async (t) => {
  const { app } = await probeApp(t)
  const token = await context.keys.sign(claimsAt({ sub: 'user-42' }))
  const response = await app.inject({
    method: 'POST',
    url: '/test-v1/whoami?user_id=admin&identity=admin',
    headers: { [HEADER]: token, 'x-user-id': 'admin', 'x-forwarded-user': 'admin' },
    payload: { userId: 'admin', identity: { userId: 'admin' } },
  })
  assert.deepEqual(response.json(), { userId: 'user-42', caller: 'any' })
  const unsigned = await app.inject({
    method: 'POST',
    url: '/test-v1/whoami?user_id=admin',
    headers: { 'x-user-id': 'admin' },
    payload: { identity: { userId: 'admin' } },
  })
  assertRejected(unsigned, /missing X-Identity-Assertion/)
})

test('routes outside the scope need no assertion and get no identity', async (t) => {
  const { app } = await probeApp(t)
  const token = await context.keys.sign(claimsAt())
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  const open = await app.inject({
    method: 'GET',
    url: '/probe/public',
    headers: { [HEADER]: token },
  })
  assert.deepEqual(open.json(), { identity: null })
  // A handler that forgets the plugin still fails closed.
  assertRejected(
    await app.inject({
      method: 'GET',
      url: '/probe/requires-identity',
      headers: { [HEADER]: token },
    }),
    /missing X-Identity-Assertion/,
  )
})

test('every attack is a 401 invalid_identity that echoes nothing', async (t) => {
  const { app, logs } = await probeApp(t)
  for (const attack of context.cases) {
    if (attack.token === '') continue
    const response = await app.inject({
      method: 'GET',
      url: '/test-v1/whoami',
      headers: { [HEADER]: attack.token },
    })
    const body = assertRejected(response, attack.detail)
    assert.ok(!response.body.includes(attack.token), attack.name)
    for (const echo of attack.echoes ?? []) assert.ok(!String(body.detail).includes(echo), echo)
  }
  for (const attack of context.cases) {
    if (attack.token.length > 8) assert.ok(!logs.text.includes(attack.token), attack.name)
  }
  assert.equal(context.fetches(), 0)
})

test('a missing, empty, repeated or oversized header is refused', async (t) => {
  const { app } = await probeApp(t)
  const token = await context.keys.sign(claimsAt())
  const get = (headers: Record<string, string | string[]>) =>
    app.inject({ method: 'GET', url: '/test-v1/whoami', headers })
  assertRejected(await get({}), /missing X-Identity-Assertion header/)
  assertRejected(await get({ [HEADER]: '' }), /missing X-Identity-Assertion header/)
  assertRejected(await get({ [HEADER]: [token, token] }), /must appear exactly once/)
  assertRejected(await get({ [HEADER]: `${token}, ${token}` }), /must appear exactly once/)
  const padded = await context.keys.sign(claimsAt({ pad: 'x'.repeat(9000) }))
  const oversized = assertRejected(await get({ [HEADER]: padded }), /larger than 8192 bytes/)
  assert.ok(!String(oversized.detail).includes(padded))
})

test('a header sent twice on the wire is refused, whatever the values', async (t) => {
  const { app } = await probeApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const good = await context.keys.sign(claimsAt())
  const other = await context.keys.sign(claimsAt({ sub: 'user-43' }))
  const send = (values: string[]) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      // No keep-alive: a pooled socket left open would hold app.close() until it times out.
      const request = httpRequest({
        port,
        host: '127.0.0.1',
        path: '/test-v1/whoami',
        agent: false,
      })
      // An array makes Node write one header line per value.
      request.setHeader(HEADER, values)
      request.on('response', (response) => {
        let body = ''
        response.on('data', (chunk) => {
          body += chunk
        })
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
      })
      request.on('error', reject)
      request.end()
    })
  assert.equal((await send([good])).status, 200)
  for (const values of [
    [good, good],
    [good, other],
  ]) {
    const response = await send(values)
    assert.equal(response.status, 401)
    assert.match(JSON.parse(response.body).detail, /must appear exactly once/)
  }
})

test('an assertion answered from the cache is held to the same checks and audit lines', async (t) => {
  let now = NOW_MS
  const cached = await ownVerifier(() => now)
  const audits: Array<{ event: string; fields: Record<string, unknown> }> = []
  // The EC key's caller may read the workspace only: `me` is refused with 403.
  const callers = createCallers({
    main: { kids: [context.keys.kid], operations: ['me'] },
    indexer: { kids: [context.ecKeys.kid], operations: ['workspace.read'] },
  })
  const call = await whoamiBehind(t, {
    verifier: cached,
    callers,
    audit: (event, fields = {}) => audits.push({ event, fields }),
  })
  const token = await context.keys.sign(claimsAt({ sub: 'user-7', exp: NOW + 60 }))
  const other = await context.ecKeys.sign(claimsAt({ sub: 'user-8', exp: NOW + 60 }))
  for (let round = 0; round < 2; round++) {
    const response = await call(token)
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), { userId: 'user-7', caller: 'main' })
    assert.equal((await call(other)).statusCode, 403)
  }
  assert.deepEqual(cached.stats(), { cacheHits: 2, signatureChecks: 2 })
  assert.deepEqual(
    audits.map(({ event, fields }) => [event, fields.user, fields.caller]),
    [
      ['operation_not_allowed', 'user-8', 'indexer'],
      ['operation_not_allowed', 'user-8', 'indexer'],
    ],
  )
  now = NOW_MS + 90_000
  assertRejected(await call(token), /has expired/)
  const last = audits.at(-1)
  assert.equal(last?.event, 'identity_rejected')
  assert.match(String(last?.fields.reason), /has expired/)
  assert.equal(last?.fields.kid, context.keys.kid)
})

test('an audit line that cannot be written fails the request with a 500, not the process', async (t) => {
  const fresh = await ownVerifier()
  const call = await whoamiBehind(t, {
    verifier: fresh,
    callers: createCallers({
      indexer: { kids: [context.ecKeys.kid], operations: ['workspace.read'] },
    }),
    audit: () => {
      throw new Error('the audit sink is down')
    },
  })
  // First a signature check (the asynchronous path), then the same assertion from the cache.
  const token = await context.ecKeys.sign(claimsAt({ sub: 'user-9' }))
  for (let round = 0; round < 2; round++) {
    const response = await call(token)
    assert.equal(response.statusCode, 500)
    assert.ok(!response.body.includes('user-9'))
  }
  assert.deepEqual(fresh.stats(), { cacheHits: 1, signatureChecks: 1 })
})
