/**
 * Authorization (issue 10): every `/v1` operation in the served OpenAPI document refuses a
 * missing, expired, forged or other-audience assertion with 401 before touching anything, and
 * user A can never act on user B's connection or connect session through any route.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { createIdentityKeys, TEST_AUDIENCE, TEST_ISSUER } from '../fixtures/identity.ts'
import { ed25519With, forge, hmacWith } from '../identity/forge.ts'
import { type Stack, startStack } from '../stack.ts'
import { assertProblem, readResponse, stackSecrets, sweepLogs } from './support.ts'

/** Seconds past `exp`: well beyond the 30 s clock tolerance. */
const EXPIRED_BY_S = 120

interface Operation {
  method: string
  path: string
}

async function v1Operations(stack: Stack): Promise<Operation[]> {
  const document = (await (await fetch(`${stack.internalUrl}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>
  }
  const operations: Operation[] = []
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith('/v1/')) continue
    for (const method of Object.keys(item)) {
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method))
        operations.push({ method: method.toUpperCase(), path })
    }
  }
  return operations
}

function sessionRows(stack: Stack): unknown[] {
  const sqlite = new Database(stack.config.databasePath, { readonly: true })
  try {
    return sqlite.prepare('select id, user_id, status from connect_sessions order by id').all()
  } finally {
    sqlite.close()
  }
}

test('every /v1 operation: no, expired, forged or other-audience assertion → 401, nothing touched', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-a', ACCOUNT_IDS.alice)).status, 200)
  const secretsOfConnect = stackSecrets(stack)
  const operations = await v1Operations(stack)
  assert.ok(operations.length >= 6, `only ${operations.length} /v1 operations documented`)

  const now = Math.floor(Date.now() / 1000)
  const keys = stack.identity
  const attacker = await createIdentityKeys({ kid: keys.kid })
  const claims = { sub: 'user-a', iss: TEST_ISSUER, aud: TEST_AUDIENCE, iat: now, exp: now + 60 }
  const valid = await keys.sign(claims)
  const [header, , signature] = valid.split('.') as [string, string, string]
  const x = keys.jwks.keys[0]?.x as string
  const swapped = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'user-b' })).toString('base64url')}.${signature}`

  const assertions: Record<string, string | null> = {
    missing: null,
    empty: '',
    expired: await keys.sign({ ...claims, iat: now - 300 + 1, exp: now - EXPIRED_BY_S }),
    'issued in the future': await keys.sign({ ...claims, iat: now + 600, exp: now + 700 }),
    'lifetime over 300 s': await keys.sign({ ...claims, exp: now + 3600 }),
    'forged: another key under our kid': await attacker.sign(claims),
    'forged: alg none': forge({ alg: 'none', kid: keys.kid }, claims),
    'forged: HS256 keyed with our public key': forge(
      { alg: 'HS256', kid: keys.kid },
      claims,
      hmacWith(Buffer.from(x, 'base64url')),
    ),
    'forged: payload swapped under a valid signature': swapped,
    'forged: attacker signature, embedded jwk': forge(
      { alg: 'EdDSA', kid: keys.kid, jwk: attacker.jwks.keys[0] },
      claims,
      ed25519With(attacker.privateJwk as Record<string, unknown>),
    ),
    'other audience': await keys.sign({ ...claims, aud: 'another-service' }),
    'audience list with ours': await keys.sign({ ...claims, aud: [TEST_AUDIENCE, 'x'] }),
    'other issuer': await keys.sign({ ...claims, iss: 'https://evil.example' }),
    'no sub': await keys.sign({ ...claims, sub: undefined }),
  }
  const sessionsBefore = sessionRows(stack)
  stack.emulator.resetCounters()
  let checked = 0
  for (const operation of operations) {
    const path = operation.path.replace('{id}', 'a-session-id')
    for (const [name, assertion] of Object.entries(assertions)) {
      const headers: Record<string, string> = {}
      if (assertion !== null) headers['x-identity-assertion'] = assertion
      const response = await readResponse(
        await fetch(`${stack.internalUrl}${path}`, { method: operation.method, headers }),
      )
      const problem = assertProblem(
        response,
        401,
        'invalid_identity',
        `${operation.method} ${path} (${name})`,
      )
      if (assertion) assert.ok(!response.body.includes(assertion), 'the assertion is echoed')
      assert.ok(!JSON.stringify(problem).includes('user-b'), 'a claim is echoed')
      checked++
    }
  }
  const counters = stack.emulator.counters()
  assert.equal(counters.calls.length, 0, 'a rejected request reached Dropbox')
  assert.deepEqual(counters.tokenRequests, { authorization_code: 0, refresh_token: 0 })
  assert.deepEqual(sessionRows(stack), sessionsBefore, 'a rejected request changed a session')
  const status = (await (await stack.api('user-a', 'GET', '/v1/connection')).json()) as {
    status: string
  }
  assert.equal(status.status, 'connected', 'a rejected DELETE disconnected the user')
  const secrets = stackSecrets(stack, secretsOfConnect)
  for (const assertion of Object.values(assertions)) secrets.add('assertion', assertion)
  sweepLogs(secrets, 'connector log', stack.logs.lines)
  t.diagnostic(
    `authorization: ${operations.length} /v1 operations × ${Object.keys(assertions).length} bad assertions = ${checked} requests, all 401, 0 upstream calls`,
  )
})

test('user A can never act on user B: connection, calls, cursors, sessions, browser steps', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-a', ACCOUNT_IDS.alice)).status, 200)
  assert.equal((await stack.connect('user-b', ACCOUNT_IDS.bob)).status, 200)
  const json = async (response: Response) => (await response.json()) as Record<string, unknown>

  // Reads: each user sees only their own account, files and connection.
  assert.equal(
    (await json(await stack.api('user-a', 'GET', '/v1/me'))).account_id,
    ACCOUNT_IDS.alice,
  )
  assert.equal((await json(await stack.api('user-b', 'GET', '/v1/me'))).account_id, ACCOUNT_IDS.bob)
  assert.equal(
    (await json(await stack.api('user-a', 'GET', '/v1/connection'))).account_id,
    ACCOUNT_IDS.alice,
  )
  // Nothing but the assertion names the user: not the query, a header or the body.
  for (const [path, headers] of [
    ['/v1/me?user_id=user-b&sub=user-b', {}],
    ['/v1/connection', { 'x-user-id': 'user-b', 'x-forwarded-user': 'user-b', 'x-sub': 'user-b' }],
  ] as const) {
    const response = await fetch(`${stack.internalUrl}${path}`, {
      headers: { ...headers, 'x-identity-assertion': await stack.assertionFor('user-a') },
    })
    assert.equal((await json(response)).account_id, ACCOUNT_IDS.alice, path)
  }

  // A cursor of B's listing, replayed by A, never lists B's files.
  const listingB = await json(await stack.api('user-b', 'GET', '/v1/workspace/list?limit=1'))
  const allOfB = await json(await stack.api('user-b', 'GET', '/v1/workspace/list?recursive=true'))
  const bobFiles = new Set((allOfB.entries as Array<{ id: string }>).map((entry) => entry.id))
  const replay = await readResponse(
    await stack.api(
      'user-a',
      'GET',
      `/v1/workspace/list?cursor=${encodeURIComponent(listingB.cursor as string)}`,
    ),
  )
  // Contract §4: the cursor is bound to B's connection, so the answer is a 400 either way.
  assertProblem(replay, 400, 'invalid_cursor', "A replays B's cursor")
  assert.ok(!replay.body.includes([...bobFiles][0] as string), "A saw B's files")

  // B's connect session: A can neither complete it nor learn anything from it.
  const created = await json(await stack.api('user-b', 'POST', '/v1/connect/sessions'))
  const browserB = stack.browser()
  const toDropbox = await browserB.get(created.connect_url as string)
  const back = await stack.emulator.consent(toDropbox.headers.get('location') as string, {
    accountId: ACCOUNT_IDS.carol,
    decision: 'allow',
  })
  // A's browser (another cookie jar) cannot finish B's consent with B's state.
  const stolen = await stack.browser().get(back)
  assert.equal(stolen.status, 400, 'a callback without the flow cookie of B')
  assert.equal(stolen.headers.get('content-type'), 'text/html; charset=utf-8')
  assert.equal((await browserB.get(back)).status, 303)
  stack.emulator.resetCounters()
  const hijack = await readResponse(
    await stack.api('user-a', 'POST', `/v1/connect/sessions/${created.id}/complete`),
  )
  assertProblem(hijack, 403, 'session_user_mismatch', "A completes B's session")
  assert.ok(!hijack.body.includes(ACCOUNT_IDS.carol) && !hijack.body.includes('user-b'))
  assert.equal(stack.emulator.counters().tokenRequests.authorization_code, 0, 'code exchanged')
  // The attempt cancelled the session: B must start again, and A's connection is unchanged.
  assertProblem(
    await readResponse(
      await stack.api('user-b', 'POST', `/v1/connect/sessions/${created.id}/complete`),
    ),
    409,
    'session_not_authorized',
    'B completes after the hijack attempt',
  )
  assert.equal(
    (await json(await stack.api('user-a', 'GET', '/v1/me'))).account_id,
    ACCOUNT_IDS.alice,
  )
  assert.equal((await json(await stack.api('user-b', 'GET', '/v1/me'))).account_id, ACCOUNT_IDS.bob)

  // A link made for B but opened and consented in A's browser is bound to B; A cannot take it.
  const forwarded = await json(await stack.api('user-b', 'POST', '/v1/connect/sessions'))
  const browserA = stack.browser()
  const forwardedBack = await stack.emulator.consent(
    (await browserA.get(forwarded.connect_url as string)).headers.get('location') as string,
    { accountId: ACCOUNT_IDS.dave, decision: 'allow' },
  )
  assert.equal((await browserA.get(forwardedBack)).status, 303)
  assertProblem(
    await readResponse(
      await stack.api('user-a', 'POST', `/v1/connect/sessions/${forwarded.id}/complete`),
    ),
    403,
    'session_user_mismatch',
    'A completes a forwarded link of B',
  )
  assert.equal(
    (await json(await stack.api('user-a', 'GET', '/v1/me'))).account_id,
    ACCOUNT_IDS.alice,
  )

  // Disconnecting A leaves B alone.
  assert.equal((await stack.api('user-a', 'DELETE', '/v1/connection')).status, 204)
  assertProblem(
    await readResponse(await stack.api('user-a', 'GET', '/v1/me')),
    409,
    'not_connected',
    'A after disconnecting',
  )
  assert.equal((await json(await stack.api('user-b', 'GET', '/v1/me'))).account_id, ACCOUNT_IDS.bob)
  assert.equal((await json(await stack.api('user-b', 'GET', '/v1/connection'))).status, 'connected')
  sweepLogs(stackSecrets(stack), 'connector log', stack.logs.lines)
  t.diagnostic(
    'cross-user: reads, identity from query/headers, cursor replay, session hijack, forwarded link, disconnect',
  )
})

/** Contract §2: the operation each documented `/v1` route performs. */
const OPERATION_OF: Record<string, string> = {
  'POST /v1/connect/sessions': 'connect',
  'POST /v1/connect/sessions/{id}/complete': 'connect',
  'GET /v1/connection': 'connection.read',
  'DELETE /v1/connection': 'connection.delete',
  'GET /v1/me': 'me',
  'GET /v1/workspace/list': 'workspace.read',
  'GET /v1/workspace/metadata': 'workspace.read',
  'GET /v1/workspace/download': 'workspace.read',
}

function connectionRows(stack: Stack): unknown[] {
  const sqlite = new Database(stack.config.databasePath, { readonly: true })
  try {
    return sqlite.prepare('select id, user_id, status, version from connections order by id').all()
  } finally {
    sqlite.close()
  }
}

test('callers: each key may call only its operations; 403 before any work; unnamed keys 401', async (t) => {
  const reader = await createIdentityKeys({ kid: 'reports-1' })
  const connector = await createIdentityKeys({ kid: 'onboarding-1' })
  const stray = await createIdentityKeys({ kid: 'stray-1' })
  // The stack's own key is the main app's; the others are published beside it.
  const stack = await startStack(t, {
    identityKeys: [reader, connector, stray],
    callers: (main) => ({
      'main-app': { kids: [main.kid], operations: ['*'] },
      reports: { kids: [reader.kid], operations: ['me', 'workspace.read', 'connection.read'] },
      onboarding: { kids: [connector.kid], operations: ['connect'] },
    }),
  })
  assert.equal((await stack.connect('user-a', ACCOUNT_IDS.alice)).status, 200)
  const operations = await v1Operations(stack)
  for (const { method, path } of operations) {
    assert.ok(OPERATION_OF[`${method} ${path}`], `${method} ${path} has no operation in the table`)
  }
  const callers = [
    { name: 'main-app', keys: stack.identity, allowed: new Set(Object.values(OPERATION_OF)) },
    {
      name: 'reports',
      keys: reader,
      allowed: new Set(['me', 'workspace.read', 'connection.read']),
    },
    { name: 'onboarding', keys: connector, allowed: new Set(['connect']) },
  ]
  const before = { sessions: sessionRows(stack), connections: connectionRows(stack) }
  let refused = 0
  for (const caller of callers) {
    for (const { method, path } of operations) {
      const operation = OPERATION_OF[`${method} ${path}`] as string
      // Allowed writes would change rows on purpose; allowed reads must pass the check.
      if (caller.allowed.has(operation) && method !== 'GET') continue
      const what = `${caller.name}: ${method} ${path}`
      stack.emulator.resetCounters()
      const url = `${stack.internalUrl}${path.replace('{id}', 'a-session-id')}`
      const query = path === '/v1/workspace/list' ? '?path=' : ''
      const response = await readResponse(
        await fetch(`${url}${query}`, {
          method,
          headers: { 'x-identity-assertion': await caller.keys.sign({ sub: 'user-a' }) },
        }),
      )
      if (caller.allowed.has(operation)) {
        assert.ok(![401, 403].includes(response.status), `${what} → ${response.status}`)
        continue
      }
      assertProblem(response, 403, 'operation_not_allowed', what)
      assert.equal(response.headers['cache-control'], 'no-store', what)
      assert.equal(stack.emulator.counters().calls.length, 0, `${what}: reached Dropbox`)
      assert.deepEqual(stack.emulator.counters().tokenRequests, {
        authorization_code: 0,
        refresh_token: 0,
      })
      refused++
    }
  }
  assert.deepEqual(
    { sessions: sessionRows(stack), connections: connectionRows(stack) },
    before,
    'a refused request changed a row',
  )
  // A key in IDENTITY_JWKS that no caller names: refused as an identity failure.
  for (const { method, path } of operations) {
    const response = await readResponse(
      await fetch(`${stack.internalUrl}${path.replace('{id}', 'x')}`, {
        method,
        headers: { 'x-identity-assertion': await stray.sign({ sub: 'user-a' }) },
      }),
    )
    assertProblem(response, 401, 'invalid_identity', `stray key: ${method} ${path}`)
  }
  // Audit lines (contract §9): who was refused, and where an identity failure came from.
  const audit = stack.logs.parsed().filter((line) => line.audit === true)
  const denied = audit.filter((line) => line.event === 'operation_not_allowed')
  assert.equal(denied.length, refused)
  assert.ok(denied.every((line) => line.user === 'user-a' && typeof line.caller === 'string'))
  const rejected = audit.filter((line) => line.event === 'identity_rejected')
  assert.ok(rejected.length >= operations.length)
  assert.ok(rejected.every((line) => line.peer === '127.0.0.1' && line.kid === 'stray-1'))
  // Request logs and metrics name the caller.
  assert.ok(stack.logs.parsed().some((line) => line.caller === 'reports' && line.status === 200))
  const metrics = await (await fetch(`${stack.internalUrl}/metrics`)).text()
  assert.match(metrics, /http_request_duration_seconds_count\{[^}]*caller="reports"\}/)
  const secrets = stackSecrets(stack)
  for (const assertion of stack.mintedAssertions) secrets.add('assertion', assertion)
  sweepLogs(secrets, 'connector log', stack.logs.lines)
  t.diagnostic(
    `callers: ${refused} refused requests, all 403 with 0 upstream calls, 0 rows changed`,
  )
})

test('the public listener serves no /v1, metrics or docs path; the internal one no browser step', async (t) => {
  const stack = await startStack(t)
  const operations = await v1Operations(stack)
  const paths = [
    ...operations.map(({ method, path }) => [method, path.replace('{id}', 'x')] as const),
    ...['/metrics', '/docs', '/docs/', '/docs/json', '/openapi.json', '/v1', '/v1/'].map(
      (path) => ['GET', path] as const,
    ),
  ]
  const assertion = await stack.assertionFor('user-a')
  for (const [method, path] of paths) {
    const response = await readResponse(
      await fetch(`${stack.baseUrl}${path}`, {
        method,
        headers: { 'x-identity-assertion': assertion },
      }),
    )
    assertProblem(response, 404, 'not_found', `public ${method} ${path}`)
  }
  for (const path of ['/connect?token=x', '/connect/callback?state=x&code=y']) {
    assertProblem(
      await readResponse(await fetch(`${stack.internalUrl}${path}`)),
      404,
      'not_found',
      `internal ${path}`,
    )
  }
  for (const base of [stack.baseUrl, stack.internalUrl]) {
    assert.equal((await fetch(`${base}/healthz`)).status, 200)
    assert.equal((await fetch(`${base}/readyz`)).status, 200)
  }
  t.diagnostic(`public listener: ${paths.length} internal paths, all 404`)
})
