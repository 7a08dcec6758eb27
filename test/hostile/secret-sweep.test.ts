/**
 * Secret sweep (issue 10, contract §9): a run through every flow and failure with debug logging,
 * with a recording proxy between the connector and Dropbox so every token Dropbox hands out is
 * known. Every log line, every response and the database, WAL and shared-memory bytes are
 * searched for every access and refresh token, code, state, PKCE verifier, connect token, flow
 * cookie, assertion, the app secret and the vault key: zero hits, except where the contract
 * puts a value (the connect URL in the create answer; state and flow cookie on `/connect`; the
 * completion secret in the callback's redirect).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { dropboxInFront } from '../dropbox-in-front.ts'
import { createIdentityKeys } from '../fixtures/identity.ts'
import { type Browser, startStack } from '../stack.ts'
import { databaseFiles, Secrets, sleep } from './support.ts'

/** Where the contract itself carries a secret to its one recipient. */
const ALLOWED: Record<string, string[]> = {
  'create session': ['connect token'],
  connect: ['state', 'flow cookie'],
  // The completion secret exists only in the 303 to CONNECT_RETURN_URL (contract §3.3).
  callback: ['completion secret'],
}

interface Recorded {
  label: string
  text: string
}

test('no token, code, state, verifier, assertion or app secret in any log line, response or DB byte', async (t) => {
  const secrets = new Secrets()
  const tokenAnswers: string[] = []
  let emulatorUrl = ''
  // Every token Dropbox hands out passes here on its way to the connector.
  const proxy = await dropboxInFront(
    () => emulatorUrl,
    ({ path, body }) => {
      if (path.startsWith('/oauth2/token')) {
        const text = body.toString('utf8')
        tokenAnswers.push(text)
        try {
          const parsed = JSON.parse(text) as Record<string, unknown>
          secrets.add('access token', parsed.access_token)
          secrets.add('refresh token', parsed.refresh_token)
        } catch {}
      }
      return body
    },
  )
  t.after(() => proxy.close())
  const stack = await startStack(t, {
    env: { DROPBOX_API_BASE_URL: proxy.url, LOG_LEVEL: 'debug', UPSTREAM_TIMEOUT_MS: '1500' },
  })
  emulatorUrl = stack.emulator.url
  const { emulator } = stack
  const responses: Recorded[] = []
  const lastFlowCookie = ''
  const record = async (label: string, response: Response) => {
    const body = await response.text()
    const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n')
    responses.push({ label, text: `${response.status}\n${headers}\n\n${body}` })
    return { status: response.status, body }
  }
  const api = async (
    label: string,
    user: string | null,
    method: string,
    path: string,
    body?: unknown,
  ) => record(label, await stack.api(user, method, path, body))
  const visit = async (label: string, browser: Browser, url: string) => {
    const response = await browser.get(url)
    const location = response.headers.get('location')
    for (const [name, value] of browser.cookies)
      if (name === 'cc_flow') secrets.add('flow cookie', value)
    await record(label, response)
    return location
  }

  /** The connect flow, every answer recorded; returns the session id. */
  const connect = async (
    user: string,
    accountId: string,
    decision: 'allow' | 'deny' = 'allow',
    completeAs = user,
  ) => {
    const created = await api('create session', user, 'POST', '/v1/connect/sessions')
    const session = JSON.parse(created.body) as { id: string; connect_url: string }
    secrets.add('connect token', new URL(session.connect_url).searchParams.get('token'))
    const browser = stack.browser()
    const toDropbox = (await visit('connect', browser, session.connect_url)) as string
    const back = await emulator.consent(toDropbox, { accountId, decision })
    secrets.add('authorization code', new URL(back).searchParams.get('code'))
    const toMainApp = (await visit('callback', browser, back)) as string
    const completion = new URL(toMainApp).searchParams.get('completion')
    secrets.add('completion secret', completion)
    await visit('callback replayed', browser, back)
    await api('complete', completeAs, 'POST', `/v1/connect/sessions/${session.id}/complete`, {
      completion,
    })
    // A used connect link is refused.
    await visit('connect reused', stack.browser(), session.connect_url)
    return { id: session.id, completion }
  }

  // Connections, calls, paging.
  await connect('user-a', ACCOUNT_IDS.alice)
  const repeat = await connect('user-b', ACCOUNT_IDS.bob)
  await api('complete twice', 'user-b', 'POST', `/v1/connect/sessions/${repeat.id}/complete`)
  await connect('user-c', ACCOUNT_IDS.carol)
  for (const user of ['user-a', 'user-b', 'user-c']) {
    await api('me', user, 'GET', '/v1/me')
    await api('connection', user, 'GET', '/v1/connection')
    const page = await api('list', user, 'GET', '/v1/workspace/list?limit=1&recursive=true')
    const cursor = (JSON.parse(page.body) as { cursor?: string }).cursor ?? 'x'
    await api('continue', user, 'GET', `/v1/workspace/list?cursor=${encodeURIComponent(cursor)}`)
  }
  // Refreshes, with and without failures at the token endpoint and the API.
  emulator.expireAccessTokens()
  await api('reactive refresh', 'user-a', 'GET', '/v1/me')
  for (const fault of [
    { kind: 'malformed_json' },
    { kind: 'rate_limit', retryAfter: 1, body: 'json' },
    { kind: 'rate_limit', retryAfter: 1, body: 'text' },
    { kind: 'status', status: 503 },
    { kind: 'hang' },
  ] as const) {
    emulator.expireAccessTokens(ACCOUNT_IDS.bob)
    emulator.injectFault('/oauth2/token', fault, fault.kind === 'status' ? 4 : 1)
    await api(`refresh meets ${fault.kind}`, 'user-b', 'GET', '/v1/me')
    emulator.clearFaults()
  }
  await api('refresh after the faults', 'user-b', 'GET', '/v1/me')
  for (const fault of [
    { kind: 'malformed_json' },
    { kind: 'rate_limit', retryAfter: 2, body: 'text' },
    { kind: 'status', status: 500 },
  ] as const) {
    emulator.injectFault('/2/files/list_folder', fault, fault.kind === 'status' ? 4 : 1)
    await api(`list meets ${fault.kind}`, 'user-a', 'GET', '/v1/workspace/list')
  }
  // A revoked grant: invalid_grant → reconnect_required.
  emulator.revokeRefreshTokens(ACCOUNT_IDS.carol)
  emulator.expireAccessTokens(ACCOUNT_IDS.carol)
  await api('invalid grant', 'user-c', 'GET', '/v1/me')
  await api('reconnect required', 'user-c', 'GET', '/v1/connection')
  // Reconnecting replaces and revokes; a denied consent; a hijack attempt; disconnect.
  await connect('user-a', ACCOUNT_IDS.dave)
  await connect('user-d', ACCOUNT_IDS.dave, 'deny')
  await connect('user-e', ACCOUNT_IDS.alice, 'allow', 'user-b')
  // The account read fails after the exchange: the session keeps the grant for the retry, and
  // one whose session is then cancelled sends it to the revocation queue.
  const completeAgain = (
    label: string,
    user: string,
    session: { id: string; completion: string | null },
  ) =>
    api(label, user, 'POST', `/v1/connect/sessions/${session.id}/complete`, {
      completion: session.completion,
    })
  emulator.injectFault('/2/users/get_current_account', { kind: 'status', status: 503 }, 4)
  const kept = await connect('user-f', ACCOUNT_IDS.carol)
  assert.equal((await completeAgain('complete retried', 'user-f', kept)).status, 200)
  emulator.injectFault('/2/users/get_current_account', { kind: 'status', status: 503 }, 4)
  const dropped = await connect('user-g', ACCOUNT_IDS.carol)
  assert.equal((await completeAgain('kept grant cancelled', 'user-h', dropped)).status, 403)
  await api('disconnect', 'user-b', 'DELETE', '/v1/connection')
  await api('after disconnect', 'user-b', 'GET', '/v1/me')
  // Secrets sent where they do not belong: the query, Authorization, a cookie, bad assertions.
  const leakedAssertion = await stack.assertionFor('user-a')
  const someAccessToken = /Bearer (.+)/.exec(
    emulator.counters().calls.at(-1)?.headers.authorization ?? '',
  )?.[1]
  const response = await fetch(
    `${stack.internalUrl}/v1/me?assertion=${leakedAssertion}&code=${someAccessToken}`,
    {
      headers: {
        'x-identity-assertion': leakedAssertion,
        authorization: `Bearer ${someAccessToken}`,
        cookie: `cc_flow=${lastFlowCookie}; session=${leakedAssertion}`,
      },
    },
  )
  await record('secrets in the request', response)
  const now = Math.floor(Date.now() / 1000)
  const expired = await stack.identity.sign({ sub: 'user-a', iat: now - 400, exp: now - 200 })
  const forged = await (await createIdentityKeys({ kid: stack.identity.kid })).sign({
    sub: 'user-a',
  })
  for (const [label, assertion] of [
    ['expired assertion', expired],
    ['forged assertion', forged],
  ] as const) {
    secrets.add('assertion', assertion)
    await record(
      label,
      await fetch(`${stack.internalUrl}/v1/me`, { headers: { 'x-identity-assertion': assertion } }),
    )
  }
  await sleep(100)

  // Everything the run produced that is secret.
  secrets.addFromEmulator(emulator.counters())
  for (const assertion of stack.mintedAssertions) secrets.add('assertion', assertion)
  secrets.add('app secret', stack.config.dropbox.appSecret)
  secrets.add(
    'client credentials',
    Buffer.from(`${stack.config.dropbox.appKey}:${stack.config.dropbox.appSecret}`).toString(
      'base64',
    ),
  )
  for (const key of stack.config.vaultKeys)
    secrets.add('vault key', Buffer.from(key.secretKey).toString('base64'))
  // The sweep can see: the token answers hold what it looks for.
  assert.ok(secrets.find(tokenAnswers.join('\n')).length >= 10, 'the proxy recorded no tokens')

  const lines = stack.logs.lines
  assert.equal(stack.app.log.level, 'debug', 'the sweep must run with debug logging')
  for (const [index, line] of lines.entries()) {
    const hits = secrets.find(line)
    assert.deepEqual(hits, [], `log line ${index + 1} holds ${hits.join(', ')}: ${line}`)
  }
  for (const { label, text } of responses) {
    const hits = secrets.find(text).filter((kind) => !ALLOWED[label]?.includes(kind))
    assert.deepEqual(hits, [], `the "${label}" response holds ${hits.join(', ')}: ${text}`)
  }
  const scanned: string[] = []
  const scan = (when: string) => {
    for (const [file, bytes] of databaseFiles(stack.config.databasePath)) {
      const hits = secrets.find(bytes)
      assert.deepEqual(hits, [], `${when}: ${file} holds ${hits.join(', ')}`)
      scanned.push(`${file.split('.').at(-1)} ${bytes.length} B`)
    }
  }
  scan('while running')
  await stack.app.close()
  scan('after close')
  const counters = emulator.counters()
  t.diagnostic(
    `secret sweep: ${secrets.size} secrets (${counters.tokenRequests.authorization_code} codes, ${counters.tokenRequests.refresh_token} refreshes), ${lines.length} debug log lines, ${responses.length} responses, DB files [${scanned.join(', ')}]: 0 hits`,
  )
})
