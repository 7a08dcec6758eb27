import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { Browser, startStack } from '../stack.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'

async function problemCode(response: Response): Promise<string> {
  return ((await response.json()) as { code: string }).code
}

async function assertNotConnected(stack: Awaited<ReturnType<typeof startStack>>, userId: string) {
  assert.deepEqual(await (await stack.api(userId, 'GET', '/v1/connection')).json(), {
    provider: 'dropbox',
    status: 'not_connected',
  })
}

async function createSession(stack: Awaited<ReturnType<typeof startStack>>, userId: string) {
  const response = await stack.api(userId, 'POST', '/v1/connect/sessions')
  assert.equal(response.status, 201)
  return (await response.json()) as { id: string; connect_url: string; expires_at: string }
}

test('happy path: create → /connect → consent → callback → complete → connected', async (t) => {
  const stack = await startStack(t)
  const session = await createSession(stack, 'user-1')
  assert.match(
    session.connect_url,
    new RegExp(`^${stack.baseUrl}/connect\\?token=[A-Za-z0-9_-]{43}$`),
  )
  assert.ok(Date.parse(session.expires_at) - Date.now() > 9 * 60_000)

  const browser = new Browser()
  const toDropbox = await browser.get(session.connect_url)
  assert.equal(toDropbox.status, 302)
  assert.equal(toDropbox.headers.get('referrer-policy'), 'no-referrer')
  assert.equal(toDropbox.headers.get('cache-control'), 'no-store')
  const setCookie = toDropbox.headers.getSetCookie()[0] ?? ''
  assert.match(
    setCookie,
    /^cc_flow=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/connect; HttpOnly; SameSite=Lax$/,
  )

  const authorize = new URL(toDropbox.headers.get('location') as string)
  assert.equal(`${authorize.origin}${authorize.pathname}`, `${stack.emulator.url}/oauth2/authorize`)
  const params = Object.fromEntries(authorize.searchParams)
  assert.deepEqual(Object.keys(params).sort(), [
    'client_id',
    'code_challenge',
    'code_challenge_method',
    'force_reapprove',
    'redirect_uri',
    'response_type',
    'scope',
    'state',
    'token_access_type',
  ])
  assert.equal(params.client_id, 'test-app-key')
  assert.equal(params.response_type, 'code')
  assert.equal(params.redirect_uri, `${stack.baseUrl}/connect/callback`)
  assert.equal(params.code_challenge_method, 'S256')
  assert.match(params.code_challenge as string, /^[A-Za-z0-9_-]{43}$/)
  assert.match(params.state as string, /^[A-Za-z0-9_-]{43}$/)
  assert.equal(params.token_access_type, 'offline')
  assert.equal(params.force_reapprove, 'true')
  assert.equal(params.scope, 'account_info.read files.metadata.read files.content.read')
  assert.ok(
    authorize.search.includes('scope=account_info.read%20files.metadata.read%20files.content.read'),
    'spaces are %20-encoded',
  )

  const back = await stack.emulator.consent(authorize.toString(), {
    accountId: ACCOUNT_IDS.alice,
    decision: 'allow',
  })
  const toMainApp = await browser.get(back)
  assert.equal(toMainApp.status, 303)
  assert.equal(toMainApp.headers.get('referrer-policy'), 'no-referrer')
  assert.equal(toMainApp.headers.get('cache-control'), 'no-store')
  assert.equal(
    toMainApp.headers.get('location'),
    `https://main-app.test/integrations/dropbox/done?session=${session.id}&status=authorized`,
  )
  assert.equal(
    stack.emulator.counters().tokenRequests.authorization_code,
    0,
    'no exchange before complete',
  )

  const completed = await stack.api('user-1', 'POST', `/v1/connect/sessions/${session.id}/complete`)
  assert.equal(completed.status, 200)
  const status = (await completed.json()) as Record<string, unknown>
  assert.equal(status.provider, 'dropbox')
  assert.equal(status.status, 'connected')
  assert.equal(status.account_id, ACCOUNT_IDS.alice)
  assert.equal(status.email, 'alice@example.com')
  assert.deepEqual(status.scopes, [
    'account_info.read',
    'files.metadata.read',
    'files.content.read',
  ])
  assert.ok(Date.parse(status.access_token_expires_at as string) > Date.now())

  const exchange = stack.emulator.counters().tokenRequestLog
  assert.equal(exchange.length, 1)
  assert.equal(exchange[0]?.grantType, 'authorization_code')
  assert.equal(exchange[0]?.clientAuth, 'basic')
  assert.equal(exchange[0]?.params.redirect_uri, `${stack.baseUrl}/connect/callback`)
  assert.match(exchange[0]?.params.code_verifier ?? '', /^[A-Za-z0-9_-]{43}$/)
  assert.ok(
    !('client_secret' in (exchange[0]?.params ?? {})),
    'the secret travels in the Basic header only',
  )

  const connection = await stack.api('user-1', 'GET', '/v1/connection')
  assert.deepEqual(await connection.json(), status)
  assert.ok(!JSON.stringify(status).includes('token"'), 'no token field')
})

test('the user denies consent: status=denied, complete says not authorized, nothing stored', async (t) => {
  const stack = await startStack(t)
  const session = await createSession(stack, 'user-1')
  const browser = new Browser()
  const toDropbox = await browser.get(session.connect_url)
  const back = await stack.emulator.consent(toDropbox.headers.get('location') as string, {
    accountId: ACCOUNT_IDS.alice,
    decision: 'deny',
  })
  const toMainApp = await browser.get(back)
  assert.equal(
    toMainApp.headers.get('location'),
    `https://main-app.test/integrations/dropbox/done?session=${session.id}&status=denied`,
  )
  const completed = await stack.api('user-1', 'POST', `/v1/connect/sessions/${session.id}/complete`)
  assert.equal(completed.status, 409)
  assert.equal(await problemCode(completed), 'session_not_authorized')
  await assertNotConnected(stack, 'user-1')
})

test('an upstream error other than access_denied is passed on as status=error&error=<code>', async (t) => {
  const stack = await startStack(t)
  const session = await createSession(stack, 'user-1')
  const browser = new Browser()
  const toDropbox = await browser.get(session.connect_url)
  const state = new URL(toDropbox.headers.get('location') as string).searchParams.get(
    'state',
  ) as string
  const back = await browser.get(
    `${stack.baseUrl}/connect/callback?state=${state}&error=temporarily_unavailable&error_description=try+later`,
  )
  assert.equal(back.status, 303)
  assert.equal(
    back.headers.get('location'),
    `https://main-app.test/integrations/dropbox/done?session=${session.id}&status=error&error=temporarily_unavailable`,
  )
})

test('connect token reused, unknown or expired: 400 page, no redirect to Dropbox', async (t) => {
  const stack = await startStack(t)
  const session = await createSession(stack, 'user-1')
  assert.equal((await new Browser().get(session.connect_url)).status, 302)
  for (const url of [
    session.connect_url,
    `${stack.baseUrl}/connect?token=unknown-token`,
    `${stack.baseUrl}/connect`,
    `${stack.baseUrl}/connect?token=${'x'.repeat(300)}`,
  ]) {
    const response = await new Browser().get(url)
    assert.equal(response.status, 400, url)
    assert.equal(response.headers.get('location'), null)
    assert.match(response.headers.get('content-type') as string, /^text\/html/)
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer')
    assert.equal(response.headers.get('cache-control'), 'no-store')
  }
  assert.equal(stack.emulator.counters().authorizeRequests.length, 0)
})

test('a connect token past its 10 minutes is refused', async (t) => {
  let now = Date.now()
  const stack = await startStack(t, { deps: { clock: () => now } })
  const session = await createSession(stack, 'user-1')
  now += 10 * 60_000 + 1
  const response = await new Browser().get(session.connect_url)
  assert.equal(response.status, 400)
  const completed = await stack.api('user-1', 'POST', `/v1/connect/sessions/${session.id}/complete`)
  assert.equal(completed.status, 410)
  assert.equal(await problemCode(completed), 'session_expired')
})

test('callback with unknown, reused or missing state, or without the flow cookie: 400 page', async (t) => {
  const stack = await startStack(t)
  const session = await createSession(stack, 'user-1')
  const browser = new Browser()
  const toDropbox = await browser.get(session.connect_url)
  const back = await stack.emulator.consent(toDropbox.headers.get('location') as string, {
    accountId: ACCOUNT_IDS.alice,
    decision: 'allow',
  })
  const callback = new URL(back)

  const unknownState = new URL(callback)
  unknownState.searchParams.set('state', 'not-a-known-state')
  const noState = new URL(callback)
  noState.searchParams.delete('state')
  for (const url of [unknownState.toString(), noState.toString()]) {
    assert.equal((await browser.get(url)).status, 400)
  }
  const stranger = new Browser()
  assert.equal((await stranger.get(back)).status, 400, 'no flow cookie')
  const otherCookie = new Browser()
  otherCookie.cookies.set('cc_flow', 'someone-elses-cookie')
  assert.equal((await otherCookie.get(back)).status, 400, 'another flow cookie')

  assert.equal((await browser.get(back)).status, 303, 'the right browser still succeeds')
  assert.equal((await browser.get(back)).status, 400, 'state replay')
})

test("another session's cookie does not fit this session's state", async (t) => {
  const stack = await startStack(t)
  const first = await createSession(stack, 'user-1')
  const second = await createSession(stack, 'user-2')
  const browserA = new Browser()
  const browserB = new Browser()
  const toDropboxA = await browserA.get(first.connect_url)
  await browserB.get(second.connect_url)
  const backA = await stack.emulator.consent(toDropboxA.headers.get('location') as string, {
    accountId: ACCOUNT_IDS.alice,
    decision: 'allow',
  })
  assert.equal((await browserB.get(backA)).status, 400)
})

test('Host and X-Forwarded-* never change the redirect_uri', async (t) => {
  const stack = await startStack(t)
  const session = await createSession(stack, 'user-1')
  const response = await fetch(session.connect_url, {
    redirect: 'manual',
    headers: {
      host: 'evil.example',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
    },
  })
  assert.equal(response.status, 302)
  const location = new URL(response.headers.get('location') as string)
  assert.equal(location.searchParams.get('redirect_uri'), `${stack.baseUrl}/connect/callback`)
  assert.ok(!(response.headers.get('location') as string).includes('evil'))
})

test('a code from flow A replayed into flow B is refused by the verifier; nothing is stored', async (t) => {
  const stack = await startStack(t)
  const sessionA = await createSession(stack, 'user-1')
  const sessionB = await createSession(stack, 'user-1')
  const browser = new Browser()
  const toDropboxA = await browser.get(sessionA.connect_url)
  const backA = new URL(
    await stack.emulator.consent(toDropboxA.headers.get('location') as string, {
      accountId: ACCOUNT_IDS.alice,
      decision: 'allow',
    }),
  )
  const toDropboxB = await browser.get(sessionB.connect_url)
  const stateB = new URL(toDropboxB.headers.get('location') as string).searchParams.get(
    'state',
  ) as string
  const injected = await browser.get(
    `${stack.baseUrl}/connect/callback?code=${encodeURIComponent(backA.searchParams.get('code') as string)}&state=${stateB}`,
  )
  assert.equal(injected.status, 303)
  const completed = await stack.api(
    'user-1',
    'POST',
    `/v1/connect/sessions/${sessionB.id}/complete`,
  )
  assert.equal(completed.status, 410)
  assert.equal(await problemCode(completed), 'session_expired')
  assert.equal(stack.emulator.counters().tokenRequests.authorization_code, 1)
  await assertNotConnected(stack, 'user-1')
})

test('a link made for user A and completed by user B: 403, session cancelled, code never exchanged', async (t) => {
  const stack = await startStack(t)
  const session = await createSession(stack, 'user-a')
  const browser = new Browser()
  const toDropbox = await browser.get(session.connect_url)
  const back = await stack.emulator.consent(toDropbox.headers.get('location') as string, {
    accountId: ACCOUNT_IDS.bob,
    decision: 'allow',
  })
  assert.equal((await browser.get(back)).status, 303)

  const hijack = await stack.api('user-b', 'POST', `/v1/connect/sessions/${session.id}/complete`)
  assert.equal(hijack.status, 403)
  assert.equal(hijack.headers.get('content-type'), PROBLEM)
  assert.equal(await problemCode(hijack), 'session_user_mismatch')
  assert.equal(stack.emulator.counters().tokenRequests.authorization_code, 0)

  const afterwards = await stack.api(
    'user-a',
    'POST',
    `/v1/connect/sessions/${session.id}/complete`,
  )
  assert.equal(
    afterwards.status,
    409,
    'the cancelled session cannot be completed by its owner either',
  )
  for (const user of ['user-a', 'user-b']) {
    await assertNotConnected(stack, user)
  }
  assert.equal(stack.emulator.counters().tokenRequests.authorization_code, 0)
})

test('complete: unknown session 404, not yet authorized 409, twice 409', async (t) => {
  const stack = await startStack(t)
  const unknown = await stack.api(
    'user-1',
    'POST',
    '/v1/connect/sessions/00000000-0000-0000-0000-000000000000/complete',
  )
  assert.equal(unknown.status, 404)
  assert.equal(await problemCode(unknown), 'session_not_found')

  const session = await createSession(stack, 'user-1')
  const early = await stack.api('user-1', 'POST', `/v1/connect/sessions/${session.id}/complete`)
  assert.equal(early.status, 409)
  assert.equal(await problemCode(early), 'session_not_authorized')

  const first = await stack.connect('user-2', ACCOUNT_IDS.alice)
  assert.equal(first.status, 200)
  const sessionId = new URL(first.url).pathname.split('/')[4] as string
  const second = await stack.api('user-2', 'POST', `/v1/connect/sessions/${sessionId}/complete`)
  assert.equal(second.status, 409)
})

test('reconnecting replaces the connection and revokes the old token upstream', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  assert.equal(stack.emulator.counters().revocations, 0)
  const again = await stack.connect('user-1', ACCOUNT_IDS.bob)
  assert.equal(again.status, 200)
  assert.equal(((await again.json()) as { account_id: string }).account_id, ACCOUNT_IDS.bob)
  assert.equal(stack.emulator.counters().revocations, 1)
  const me = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(((await me.json()) as { account_id: string }).account_id, ACCOUNT_IDS.bob)
})

test('disconnect revokes upstream, deletes, and is idempotent', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  const removed = await stack.api('user-1', 'DELETE', '/v1/connection')
  assert.equal(removed.status, 204)
  assert.equal(await removed.text(), '')
  assert.equal(stack.emulator.counters().revocations, 1)
  await assertNotConnected(stack, 'user-1')
  assert.equal((await stack.api('user-1', 'DELETE', '/v1/connection')).status, 204)
  assert.equal(stack.emulator.counters().revocations, 1)
  const me = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(me.status, 409)
  assert.equal(await problemCode(me), 'not_connected')
})

test('disconnect still deletes locally when the upstream revoke fails, and counts it', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  stack.emulator.injectFault('/2/auth/token/revoke', { kind: 'status', status: 500 }, 10)
  assert.equal((await stack.api('user-1', 'DELETE', '/v1/connection')).status, 204)
  await assertNotConnected(stack, 'user-1')
  const metrics = await (await fetch(`${stack.internalUrl}/metrics`)).text()
  assert.match(metrics, /token_revocations_total\{outcome="failed"\} 1/)
})

test('error descriptions with HTML are never echoed unescaped', async (t) => {
  const stack = await startStack(t)
  const response = await new Browser().get(
    `${stack.baseUrl}/connect/callback?state=x&error=<script>alert(1)</script>&error_description=<img src=x onerror=alert(1)>`,
  )
  assert.equal(response.status, 400)
  const html = await response.text()
  assert.ok(!html.includes('<script>alert'))
  assert.ok(!html.includes('<img'))
  assert.match(response.headers.get('content-security-policy') as string, /default-src 'none'/)
})

test('expired sessions are purged', async (t) => {
  let now = Date.now()
  const stack = await startStack(t, { deps: { clock: () => now } })
  const old = await createSession(stack, 'user-1')
  now += 11 * 60_000
  await createSession(stack, 'user-1')
  const completed = await stack.api('user-1', 'POST', `/v1/connect/sessions/${old.id}/complete`)
  assert.equal(completed.status, 404, 'the expired row is gone')
})

test('no code, state, token, verifier or assertion reaches a log line', async (t) => {
  const stack = await startStack(t)
  const session = await createSession(stack, 'user-1')
  const browser = new Browser()
  const toDropbox = await browser.get(session.connect_url)
  const authorize = new URL(toDropbox.headers.get('location') as string)
  const back = new URL(
    await stack.emulator.consent(authorize.toString(), {
      accountId: ACCOUNT_IDS.alice,
      decision: 'allow',
    }),
  )
  await browser.get(back.toString())
  await stack.api('user-1', 'POST', `/v1/connect/sessions/${session.id}/complete`)
  await stack.api('user-1', 'GET', '/v1/me')

  const secrets = [
    new URL(session.connect_url).searchParams.get('token'),
    authorize.searchParams.get('state'),
    authorize.searchParams.get('code_challenge'),
    back.searchParams.get('code'),
    browser.cookies.get('cc_flow'),
    ...stack.emulator
      .counters()
      .tokenRequestLog.flatMap((entry) => [entry.params.code, entry.params.code_verifier]),
    ...stack.mintedAssertions,
    'test-app-secret',
  ].filter((value): value is string => typeof value === 'string' && value.length > 8)
  for (const secret of secrets) {
    assert.ok(!stack.logs.text.includes(secret), 'a secret reached the logs')
  }
})

test('behind an https PUBLIC_BASE_URL the flow cookie is Secure', async (t) => {
  const stack = await startStack(t, { env: { PUBLIC_BASE_URL: 'https://connector.example' } })
  const session = await createSession(stack, 'user-1')
  const connectUrl = new URL(session.connect_url)
  assert.equal(connectUrl.origin, 'https://connector.example')
  const toDropbox = await new Browser().get(`${stack.baseUrl}/connect${connectUrl.search}`)
  assert.equal(toDropbox.status, 302)
  assert.match(
    toDropbox.headers.getSetCookie()[0] ?? '',
    /^cc_flow=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/connect; HttpOnly; Secure; SameSite=Lax$/,
  )
  const redirectUri = new URL(toDropbox.headers.get('location') as string).searchParams.get(
    'redirect_uri',
  )
  assert.equal(redirectUri, 'https://connector.example/connect/callback')
})
