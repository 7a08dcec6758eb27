import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { openVault } from '../../src/vault/open-vault.ts'
import { type Stack, startStack } from '../stack.ts'

async function connected(
  t: Parameters<typeof startStack>[0],
  accountId = ACCOUNT_IDS.alice,
  options = {},
) {
  const stack = await startStack(t, options)
  const response = await stack.connect('user-1', accountId)
  assert.equal(response.status, 200)
  stack.emulator.resetCounters()
  return stack
}

async function json(response: Response) {
  return (await response.json()) as Record<string, unknown>
}

function callsTo(stack: Stack, route: string) {
  return stack.emulator.counters().calls.filter((call) => call.route === route)
}

test('GET /v1/me for a personal account: the contract shape, and no path-root header upstream', async (t) => {
  const stack = await connected(t)
  const response = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(response.status, 200)
  assert.deepEqual(await response.json(), {
    provider: 'dropbox',
    account_id: ACCOUNT_IDS.alice,
    display_name: 'Alice Example',
    email: 'alice@example.com',
    email_verified: true,
    country: 'US',
    team: null,
    root: { type: 'user', root_namespace_id: '1001', home_namespace_id: '1001', home_path: null },
  })
  const [call] = callsTo(stack, '/2/users/get_current_account')
  assert.ok(call)
  assert.equal(call.headers['dropbox-api-path-root'], undefined)
  assert.match(call.headers.authorization ?? '', /^Bearer /)
})

test('a team-space account: every call carries the root path-root header', async (t) => {
  const stack = await connected(t, ACCOUNT_IDS.carol)
  const me = await json(await stack.api('user-1', 'GET', '/v1/me'))
  assert.deepEqual(me.root, {
    type: 'team',
    root_namespace_id: '3000',
    home_namespace_id: '3001',
    home_path: '/Carol Team',
  })
  assert.ok((me.team as { id: string } | null)?.id)
  const listing = await json(await stack.api('user-1', 'GET', '/v1/workspace/list'))
  const names = (listing.entries as Array<{ name: string }>).map((entry) => entry.name).sort()
  assert.deepEqual(names, ['Carol Team', 'Team Projects'])
  for (const call of stack.emulator.counters().calls) {
    assert.equal(call.headers['dropbox-api-path-root'], '{".tag":"root","root":"3000"}', call.route)
  }
})

test('an account moved into a team space: /v1/me notices, stores the root, later calls use it', async (t) => {
  const stack = await connected(t, ACCOUNT_IDS.dave)
  assert.equal((await stack.api('user-1', 'GET', '/v1/workspace/list')).status, 200)
  stack.emulator.migrateToTeam(ACCOUNT_IDS.dave)
  stack.emulator.resetCounters()
  const after = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(after.status, 200)
  const root = (await json(after)).root as { type: string; root_namespace_id: string }
  assert.equal(root.type, 'team')
  const calls = callsTo(stack, '/2/users/get_current_account')
  assert.equal(calls.length, 1, 'get_current_account sent no path root before: nothing to correct')
  const list = await stack.api('user-1', 'GET', '/v1/workspace/list')
  assert.equal(list.status, 200)
  const listCalls = callsTo(stack, '/2/files/list_folder')
  assert.equal(listCalls.length, 1)
  assert.equal(
    listCalls[0]?.headers['dropbox-api-path-root'],
    `{".tag":"root","root":"${root.root_namespace_id}"}`,
  )
})

test('a stale stored root: 422 invalid_root → the new root is stored → retried once', async (t) => {
  const stack = await connected(t, ACCOUNT_IDS.carol)
  // A second handle on the same database plays "the root moved while we were not looking".
  const vault = await openVault({
    databaseUrl: stack.config.databaseUrl,
    databasePath: stack.config.databasePath,
    keys: stack.config.vaultKeys,
  })
  t.after(() => vault.close())
  const connection = await vault.connections.findByUser('user-1', 'dropbox')
  assert.ok(connection)
  await vault.connections.updateRootInfo(connection.id, {
    ...connection.rootInfo,
    rootNamespaceId: '2999',
  })

  const list = await stack.api('user-1', 'GET', '/v1/workspace/list')
  assert.equal(list.status, 200)
  const sent = callsTo(stack, '/2/files/list_folder').map(
    (call) => [call.headers['dropbox-api-path-root'], call.status] as const,
  )
  assert.deepEqual(sent, [
    ['{".tag":"root","root":"2999"}', 422],
    ['{".tag":"root","root":"3000"}', 200],
  ])
  const stored = await vault.connections.findByUser('user-1', 'dropbox')
  assert.equal(stored?.rootInfo.rootNamespaceId, '3000')
})

test('listing: relative paths, files-only fields, no deleted entries, workspace root applied', async (t) => {
  const stack = await connected(t, ACCOUNT_IDS.alice, { env: { WORKSPACE_ROOT: 'Office/' } })
  stack.emulator.deleteFile(ACCOUNT_IDS.alice, '/Office/notes.txt')
  const response = await stack.api('user-1', 'GET', '/v1/workspace/list')
  assert.equal(response.status, 200)
  const listing = await json(response)
  assert.equal(listing.path, '')
  assert.equal(listing.has_more, false)
  const entries = listing.entries as Array<Record<string, unknown>>
  assert.deepEqual(entries.map((entry) => entry.path).sort(), ['Reports'])
  const [call] = callsTo(stack, '/2/files/list_folder')
  assert.deepEqual((call?.body as { path?: string } | undefined)?.path, '/Office')

  const reports = await json(await stack.api('user-1', 'GET', '/v1/workspace/list?path=Reports'))
  assert.equal(reports.path, 'Reports')
  const [file] = reports.entries as Array<Record<string, unknown>>
  assert.deepEqual(Object.keys(file ?? {}).sort(), [
    'content_hash',
    'id',
    'modified_at',
    'name',
    'path',
    'rev',
    'size',
    'type',
  ])
  assert.equal(file?.path, 'Reports/Q1.pdf')
  assert.equal(file?.type, 'file')
  const folder = entries[0] as Record<string, unknown>
  assert.deepEqual(Object.keys(folder).sort(), ['id', 'name', 'path', 'type'])
})

test('workspace vectors through HTTP: what reaches Dropbox, and what never does', async (t) => {
  const stack = await connected(t, ACCOUNT_IDS.alice, { env: { WORKSPACE_ROOT: '/Office' } })
  for (const [input, expected] of [
    ['', '/Office'],
    ['.', '/Office'],
    ['//Reports///', '/Office/Reports'],
    ['./Reports/.', '/Office/Reports'],
  ] as const) {
    stack.emulator.resetCounters()
    const response = await stack.api(
      'user-1',
      'GET',
      `/v1/workspace/list?path=${encodeURIComponent(input)}`,
    )
    assert.equal(response.status, 200, input)
    assert.equal(
      (callsTo(stack, '/2/files/list_folder')[0]?.body as { path?: string } | undefined)?.path,
      expected,
    )
  }
  stack.emulator.resetCounters()
  for (const input of ['../secret', 'a/../b', 'a/\u0000b', 'line\nbreak', 'x'.repeat(1025)]) {
    const response = await stack.api(
      'user-1',
      'GET',
      `/v1/workspace/list?path=${encodeURIComponent(input)}`,
    )
    assert.equal(response.status, 400)
    assert.equal((await json(response)).code, 'invalid_path')
  }
  assert.equal(stack.emulator.counters().calls.length, 0, 'invalid paths never reach Dropbox')
})

test('paging with limit and cursor to the end; recursive listing', async (t) => {
  const stack = await connected(t)
  const seen: string[] = []
  let page = await json(await stack.api('user-1', 'GET', '/v1/workspace/list?path=Big&limit=150'))
  seen.push(...(page.entries as Array<{ name: string }>).map((entry) => entry.name))
  let pages = 1
  while (page.has_more) {
    const response = await stack.api(
      'user-1',
      'GET',
      `/v1/workspace/list?cursor=${encodeURIComponent(page.cursor as string)}`,
    )
    assert.equal(response.status, 200)
    page = await json(response)
    assert.equal(page.path, null)
    seen.push(...(page.entries as Array<{ name: string }>).map((entry) => entry.name))
    pages++
  }
  assert.equal(seen.length, 500)
  assert.equal(new Set(seen).size, 500)
  assert.ok(pages >= 4, `${pages} pages`)

  const recursive = await json(
    await stack.api('user-1', 'GET', '/v1/workspace/list?path=Office&recursive=true'),
  )
  const paths = (recursive.entries as Array<{ path: string }>).map((entry) => entry.path)
  assert.ok(paths.includes('Office/Reports/Q1.pdf'))
})

test('path and cursor together, bad limit: 400 invalid_request before any upstream call', async (t) => {
  const stack = await connected(t)
  for (const query of [
    'path=a&cursor=b',
    'limit=0',
    'limit=2001',
    'limit=ten',
    'recursive=maybe',
  ]) {
    const response = await stack.api('user-1', 'GET', `/v1/workspace/list?${query}`)
    assert.equal(response.status, 400, query)
    assert.equal((await json(response)).code, 'invalid_request')
  }
  assert.equal(stack.emulator.counters().calls.length, 0)
})

test('route errors: path_not_found, not_a_folder, invalid_cursor', async (t) => {
  const stack = await connected(t)
  const missing = await stack.api('user-1', 'GET', '/v1/workspace/list?path=Nope')
  assert.equal(missing.status, 404)
  assert.equal((await json(missing)).code, 'path_not_found')
  const file = await stack.api('user-1', 'GET', '/v1/workspace/list?path=Office/notes.txt')
  assert.equal(file.status, 409)
  assert.equal((await json(file)).code, 'not_a_folder')
  const cursor = await stack.api('user-1', 'GET', '/v1/workspace/list?cursor=not-a-cursor')
  assert.equal(cursor.status, 400)
  assert.equal((await json(cursor)).code, 'invalid_cursor')
})

test('refresh storm: 100 concurrent calls with an expiring token → exactly one token request', async (t) => {
  let now = Date.now()
  const stack = await connected(t, ACCOUNT_IDS.alice, { deps: { clock: () => now } })
  now += 4 * 3600_000
  stack.emulator.advanceClock(4 * 3600)
  const responses = await Promise.all(
    Array.from({ length: 100 }, () => stack.api('user-1', 'GET', '/v1/me')),
  )
  assert.deepEqual(
    responses.map((response) => response.status),
    Array(100).fill(200),
  )
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 1)
  const connection = await json(await stack.api('user-1', 'GET', '/v1/connection'))
  assert.ok(Date.parse(connection.access_token_expires_at as string) > now)
})

test('reactive refresh: 401 expired_access_token → refresh → the call is retried once', async (t) => {
  const stack = await connected(t)
  stack.emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  const response = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(response.status, 200)
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 1)
  // The refused call, the refresh's root re-read (contract §4), the retried call.
  assert.equal(callsTo(stack, '/2/users/get_current_account').length, 3)
  assert.equal((await stack.api('user-1', 'GET', '/v1/me')).status, 200)
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 1, 'the new token is kept')
})

test('a revoked refresh token → 409 reconnect_required, terminal, no retry loop', async (t) => {
  const stack = await connected(t)
  stack.emulator.revokeRefreshTokens(ACCOUNT_IDS.alice)
  stack.emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  const response = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(response.status, 409)
  assert.equal((await json(response)).code, 'reconnect_required')
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 1)
  assert.equal(
    (await json(await stack.api('user-1', 'GET', '/v1/connection'))).status,
    'reconnect_required',
  )
  assert.equal((await stack.api('user-1', 'GET', '/v1/me')).status, 409)
  assert.equal(
    stack.emulator.counters().tokenRequests.refresh_token,
    1,
    'no further refresh attempts',
  )
})

test('a freshly refreshed token refused again → 503 with Retry-After, not reconnect_required', async (t) => {
  const stack = await connected(t)
  // Dropbox refuses the stored token and then the one the refresh has just issued.
  stack.emulator.injectFault('/2/files/list_folder', { kind: 'expired_access_token' }, 2)
  const response = await stack.api('user-1', 'GET', '/v1/workspace/list')
  assert.equal(response.status, 503)
  assert.equal((await json(response)).code, 'upstream_unavailable')
  assert.ok(response.headers.get('retry-after'))
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 1, 'one refresh, no loop')
  assert.equal(callsTo(stack, '/2/files/list_folder').length, 2)
  // The grant is alive: the connection is not marked, and the next call just works.
  assert.equal((await json(await stack.api('user-1', 'GET', '/v1/connection'))).status, 'connected')
  assert.equal((await stack.api('user-1', 'GET', '/v1/workspace/list')).status, 200)
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 1, 'the new token is kept')
})

test('a token-endpoint outage → 503 upstream_unavailable, the connection untouched', async (t) => {
  const stack = await connected(t)
  stack.emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  stack.emulator.injectFault('/oauth2/token', { kind: 'status', status: 503 }, 100)
  const response = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(response.status, 503)
  assert.equal((await json(response)).code, 'upstream_unavailable')
  assert.ok(response.headers.get('retry-after'))
  stack.emulator.clearFaults()
  assert.equal((await json(await stack.api('user-1', 'GET', '/v1/connection'))).status, 'connected')
  assert.equal((await stack.api('user-1', 'GET', '/v1/me')).status, 200)
})

test('429 from Dropbox, JSON and text bodies: 429 upstream_rate_limited with Retry-After', async (t) => {
  const stack = await connected(t)
  for (const body of ['json', 'text'] as const) {
    stack.emulator.injectFault('/2/users/get_current_account', {
      kind: 'rate_limit',
      retryAfter: 7,
      body,
    })
    const response = await stack.api('user-1', 'GET', '/v1/me')
    assert.equal(response.status, 429, body)
    assert.equal(response.headers.get('retry-after'), '7')
    assert.equal((await json(response)).code, 'upstream_rate_limited')
  }
})

test('503 then success is retried transparently; persistent 5xx → 503', async (t) => {
  const stack = await connected(t)
  stack.emulator.injectFault('/2/users/get_current_account', { kind: 'status', status: 503 }, 2)
  assert.equal((await stack.api('user-1', 'GET', '/v1/me')).status, 200)
  assert.equal(callsTo(stack, '/2/users/get_current_account').length, 3)
  stack.emulator.injectFault('/2/users/get_current_account', { kind: 'status', status: 500 }, 50)
  const response = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(response.status, 503)
  assert.equal((await json(response)).code, 'upstream_unavailable')
})

test('a hang ends in 504 within the deadline; malformed JSON is 502; a reset is retried', async (t) => {
  const stack = await connected(t, ACCOUNT_IDS.alice, { env: { UPSTREAM_TIMEOUT_MS: '500' } })
  stack.emulator.injectFault('/2/users/get_current_account', { kind: 'hang' })
  const started = performance.now()
  const hung = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(hung.status, 504)
  assert.equal((await json(hung)).code, 'upstream_timeout')
  assert.ok(performance.now() - started < 2000)

  stack.emulator.injectFault('/2/users/get_current_account', { kind: 'malformed_json' })
  const malformed = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(malformed.status, 502)
  assert.equal((await json(malformed)).code, 'upstream_error')

  stack.emulator.injectFault('/2/users/get_current_account', { kind: 'reset' })
  assert.equal((await stack.api('user-1', 'GET', '/v1/me')).status, 200)
})

test('not connected → 409 not_connected; no upstream call', async (t) => {
  const stack = await startStack(t)
  for (const path of ['/v1/me', '/v1/workspace/list']) {
    const response = await stack.api('nobody', 'GET', path)
    assert.equal(response.status, 409)
    assert.equal((await json(response)).code, 'not_connected')
  }
  assert.equal(stack.emulator.counters().calls.length, 0)
})

test('missing_scope → 409 reconnect_required naming the scope', async (t) => {
  const stack = await startStack(t, { env: { DROPBOX_SCOPES: 'account_info.read' } })
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  const response = await stack.api('user-1', 'GET', '/v1/workspace/list')
  assert.equal(response.status, 409)
  const problem = await json(response)
  assert.equal(problem.code, 'reconnect_required')
  assert.match(problem.detail as string, /files\.metadata\.read/)
})

test('an upstream answer over UPSTREAM_MAX_RESPONSE_BYTES is cut off: 502 upstream_error', async (t) => {
  const stack = await connected(t, ACCOUNT_IDS.alice, {
    env: { UPSTREAM_MAX_RESPONSE_BYTES: '4096' },
  })
  const small = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(small.status, 200)
  const big = await stack.api('user-1', 'GET', '/v1/workspace/list?path=Big&limit=500')
  assert.equal(big.status, 502)
  const body = await json(big)
  assert.equal(body.code, 'upstream_error')
  assert.equal(callsTo(stack, '/2/files/list_folder').length, 1, 'a cut-off answer is not retried')
})
