/** `GET /oauth2/authorize` validation, the consent page, and the redirect back. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS, accountIdFor } from '../../emulator/index.ts'
import { APP_KEY, authorizeUrl, pkcePair, REDIRECT_URI, startTestEmulator } from './test-helpers.ts'

const { challenge } = pkcePair()
const VALID = {
  client_id: APP_KEY,
  response_type: 'code',
  redirect_uri: REDIRECT_URI,
  state: 'abc',
  code_challenge: challenge,
  code_challenge_method: 'S256',
  token_access_type: 'offline',
  scope: 'account_info.read files.metadata.read',
}

test('authorize', async (t) => {
  const emulator = await startTestEmulator(t)

  await t.test('a valid request shows the consent page, escaped and uncached', async () => {
    emulator.seedAccount({
      accountId: accountIdFor('mallory'),
      email: 'm@example.com',
      givenName: '<script>alert(1)</script>',
      surname: '"Quote"',
      homeNamespaceId: '9001',
    })
    const response = await fetch(authorizeUrl(emulator, VALID), { redirect: 'manual' })
    const html = await response.text()
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal(response.headers.get('cache-control'), 'no-store')
    assert.equal(response.headers.get('x-frame-options'), 'DENY')
    for (const id of [
      ACCOUNT_IDS.alice,
      ACCOUNT_IDS.bob,
      ACCOUNT_IDS.carol,
      ACCOUNT_IDS.dave,
      accountIdFor('mallory'),
    ]) {
      assert.ok(html.includes(`value="${id}"`), id)
    }
    assert.ok(!html.includes('<script>alert'))
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &quot;Quote&quot;'))
    assert.deepEqual(emulator.counters().authorizeRequests.at(-1), VALID)
  })

  await t.test('invalid requests get a 400 error page and never a redirect', async () => {
    const cases: Array<[Record<string, string | undefined>, string]> = [
      [{ client_id: undefined }, 'Missing required field "client_id".'],
      [{ client_id: 'unknown' }, 'Invalid client_id: "unknown".'],
      [
        { redirect_uri: 'https://evil.example/cb' },
        "Invalid redirect_uri. It must exactly match one of the redirect URIs you've pre-configured for your app (including the path).",
      ],
      [
        { redirect_uri: `${REDIRECT_URI}/` },
        "Invalid redirect_uri. It must exactly match one of the redirect URIs you've pre-configured for your app (including the path).",
      ],
      [{ response_type: undefined }, 'Missing required field "response_type".'],
      [{ response_type: 'token' }, 'Invalid response_type: "token".'],
      [{ state: 'x'.repeat(501) }, '"state" is too long: at most 500 bytes.'],
      [{ state: 'é'.repeat(251) }, '"state" is too long: at most 500 bytes.'],
      [{ code_challenge_method: 'plain' }, '"code_challenge_method" must be S256.'],
      [{ code_challenge_method: undefined }, '"code_challenge_method" must be S256.'],
      [{ code_challenge: undefined }, '"code_challenge_method" needs a "code_challenge".'],
      [
        { code_challenge: 'short' },
        '"code_challenge" must be 43 base64url characters (the S256 of a verifier).',
      ],
      [{ token_access_type: 'legacy' }, 'This app cannot request long-lived (legacy) tokens.'],
      [{ token_access_type: 'forever' }, 'Invalid token_access_type: "forever".'],
      [{ scope: '' }, '"scope" must not be empty.'],
      [{ scope: 'files.metadata.read team_data.member' }, 'Invalid scope: "team_data.member".'],
      [{ include_granted_scopes: 'team' }, 'include_granted_scopes=team needs a team-linked app.'],
      [{ approval_prompt: 'force' }, 'unknown field "approval_prompt"'],
      [{ force_reapprove: 'yes' }, '"force_reapprove" must be true or false.'],
    ]
    for (const [change, detail] of cases) {
      const params = Object.fromEntries(
        Object.entries({ ...VALID, ...change }).filter(([, value]) => value !== undefined),
      ) as Record<string, string>
      const response = await fetch(authorizeUrl(emulator, params), { redirect: 'manual' })
      const html = await response.text()
      assert.equal(response.status, 400, detail)
      assert.equal(response.headers.get('location'), null)
      assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8')
      assert.ok(html.includes('Error (400)'))
      await assert.rejects(
        emulator.consent(authorizeUrl(emulator, params), {
          accountId: ACCOUNT_IDS.alice,
          decision: 'allow',
        }),
        {
          message: `consent: authorize request refused (400): ${detail}`,
        },
      )
    }
    const twice = await fetch(`${authorizeUrl(emulator, VALID)}&state=again`)
    assert.equal(twice.status, 400)
    assert.ok((await twice.text()).includes('duplicate field &quot;state&quot;'))
  })

  await t.test('an app with a narrower Permissions tab refuses other scopes', async () => {
    emulator.registerApp({
      appKey: 'narrow-app',
      appSecret: 's',
      redirectUris: [REDIRECT_URI],
      scopes: ['account_info.read'],
    })
    await assert.rejects(
      emulator.consent(authorizeUrl(emulator, { ...VALID, client_id: 'narrow-app' }), {
        accountId: ACCOUNT_IDS.alice,
        decision: 'allow',
      }),
      {
        message:
          'consent: authorize request refused (400): The app does not have the "files.metadata.read" scope enabled.',
      },
    )
  })

  await t.test('state comes back byte for byte, whatever it contains', async () => {
    for (const state of ['a&b=c+d e', 'ü/?#%', 'x'.repeat(500), 'é'.repeat(250)]) {
      const location = new URL(
        await emulator.consent(authorizeUrl(emulator, { ...VALID, state }), {
          accountId: ACCOUNT_IDS.bob,
          decision: 'allow',
        }),
      )
      assert.equal(location.searchParams.get('state'), state)
    }
  })

  await t.test('a redirect URI with a query keeps it', async () => {
    const uri = 'https://app.example/cb?tenant=7'
    emulator.registerApp({ appKey: 'query-app', appSecret: 's', redirectUris: [uri] })
    const location = new URL(
      await emulator.consent(
        authorizeUrl(emulator, { ...VALID, client_id: 'query-app', redirect_uri: uri }),
        {
          accountId: ACCOUNT_IDS.alice,
          decision: 'allow',
        },
      ),
    )
    assert.deepEqual([...location.searchParams.keys()], ['tenant', 'code', 'state'])
  })

  await t.test('without state or redirect_uri', async () => {
    const { state: _, ...noState } = VALID
    const location = new URL(
      await emulator.consent(authorizeUrl(emulator, noState), {
        accountId: ACCOUNT_IDS.alice,
        decision: 'allow',
      }),
    )
    assert.deepEqual([...location.searchParams.keys()], ['code'])
    const { redirect_uri: __, ...noRedirect } = VALID
    const shown = new URLSearchParams(
      await emulator.consent(authorizeUrl(emulator, noRedirect), {
        accountId: ACCOUNT_IDS.alice,
        decision: 'allow',
      }),
    )
    assert.deepEqual([...shown.keys()], ['code', 'state'])
    assert.match(shown.get('code') ?? '', /^[A-Za-z0-9_-]{43}$/)
  })

  await t.test('the consent form is single-use and checks the account', async () => {
    const page = await (await fetch(authorizeUrl(emulator, VALID))).text()
    const requestId = /name="request_id" value="([^"]+)"/.exec(page)?.[1] ?? ''
    const post = (accountId: string) =>
      fetch(`${emulator.url}/oauth2/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          request_id: requestId,
          account_id: accountId,
          decision: 'allow',
        }),
        redirect: 'manual',
      })
    const unknown = await post(accountIdFor('nobody'))
    assert.equal(unknown.status, 400)
    const again = await post(ACCOUNT_IDS.alice)
    assert.equal(again.status, 400)
    assert.ok((await again.text()).includes('unknown, already answered or expired'))

    await assert.rejects(
      emulator.consent(authorizeUrl(emulator, VALID), {
        accountId: accountIdFor('nobody'),
        decision: 'allow',
      }),
      {
        message: `consent: consent refused (400): Unknown account: "${accountIdFor('nobody')}".`,
      },
    )
  })

  await t.test(
    'an approved, signed-in browser skips the picker unless force_reapprove=true',
    async () => {
      const page = await (await fetch(authorizeUrl(emulator, VALID))).text()
      const requestId = /name="request_id" value="([^"]+)"/.exec(page)?.[1] ?? ''
      const allowed = await fetch(`${emulator.url}/oauth2/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          request_id: requestId,
          account_id: ACCOUNT_IDS.bob,
          decision: 'allow',
        }),
        redirect: 'manual',
      })
      assert.equal(allowed.status, 302)
      const signIn = (allowed.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
      assert.match(signIn, /^emu_signin=[A-Za-z0-9_-]+$/)
      const withCookie = (params: Record<string, string>) =>
        fetch(authorizeUrl(emulator, params), { redirect: 'manual', headers: { cookie: signIn } })

      // Dropbox's default: the earlier approval links the signed-in account without asking.
      const silent = await withCookie({ ...VALID, state: 'again' })
      assert.equal(silent.status, 302)
      const back = new URL(silent.headers.get('location') ?? '')
      assert.equal(`${back.origin}${back.pathname}`, REDIRECT_URI)
      assert.equal(back.searchParams.get('state'), 'again')
      assert.match(back.searchParams.get('code') ?? '', /^[A-Za-z0-9_-]{43}$/)

      // force_reapprove=true: the picker again, every account offered.
      const forced = await withCookie({ ...VALID, force_reapprove: 'true' })
      assert.equal(forced.status, 200)
      const html = await forced.text()
      for (const id of [ACCOUNT_IDS.alice, ACCOUNT_IDS.bob])
        assert.ok(html.includes(`value="${id}"`), id)

      // A wider scope than approved also asks again; so does a browser that is not signed in.
      const wider = await withCookie({ ...VALID, scope: `${VALID.scope} files.content.read` })
      assert.equal(wider.status, 200)
      assert.equal((await fetch(authorizeUrl(emulator, VALID), { redirect: 'manual' })).status, 200)
    },
  )

  await t.test('a consent page left open too long expires', async () => {
    const page = await (await fetch(authorizeUrl(emulator, VALID))).text()
    const requestId = /name="request_id" value="([^"]+)"/.exec(page)?.[1] ?? ''
    emulator.advanceClock(601)
    const late = await fetch(`${emulator.url}/oauth2/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        request_id: requestId,
        account_id: ACCOUNT_IDS.alice,
        decision: 'allow',
      }),
      redirect: 'manual',
    })
    assert.equal(late.status, 400)
  })
})
