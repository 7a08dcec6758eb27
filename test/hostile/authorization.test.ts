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
  const document = (await (await fetch(`${stack.baseUrl}/openapi.json`)).json()) as {
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
        await fetch(`${stack.baseUrl}${path}`, { method: operation.method, headers }),
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
    const response = await fetch(`${stack.baseUrl}${path}`, {
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
  if (replay.status === 200) {
    const entries = (JSON.parse(replay.body) as { entries: Array<{ id: string }> }).entries
    assert.ok(!entries.some((entry) => bobFiles.has(entry.id)), "A listed B's files")
  } else assertProblem(replay, 400, 'invalid_cursor', "A replays B's cursor")

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
