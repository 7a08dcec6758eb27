/** `POST /oauth2/token`: grants, client authentication, and every error's exact body. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Emulator } from '../../emulator/index.ts'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import {
  APP_KEY,
  APP_SECRET,
  authorizeUrl,
  BASIC,
  connect,
  pkcePair,
  type RawAnswer,
  REDIRECT_URI,
  rpc,
  startTestEmulator,
  tokenRequest,
} from './test-helpers.ts'

async function code(
  emulator: Emulator,
  options: { challenge?: string | null; accessType?: string; redirectUri?: string | null } = {},
): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkcePair()
  const params: Record<string, string> = {
    client_id: APP_KEY,
    response_type: 'code',
    token_access_type: options.accessType ?? 'offline',
    scope: 'account_info.read files.metadata.read',
  }
  const redirectUri = options.redirectUri === undefined ? REDIRECT_URI : options.redirectUri
  if (redirectUri !== null) params.redirect_uri = redirectUri
  const pkceChallenge = options.challenge === undefined ? challenge : options.challenge
  if (pkceChallenge !== null) {
    params.code_challenge = pkceChallenge
    params.code_challenge_method = 'S256'
  }
  const answer = await emulator.consent(authorizeUrl(emulator, params), {
    accountId: ACCOUNT_IDS.alice,
    decision: 'allow',
  })
  const found =
    redirectUri === null
      ? new URLSearchParams(answer).get('code')
      : new URL(answer).searchParams.get('code')
  return { code: found ?? '', verifier }
}

function assertOAuthError(answer: RawAnswer, error: string, description: string): void {
  assert.deepEqual(
    { status: answer.status, type: answer.contentType, body: answer.json },
    { status: 400, type: 'application/json', body: { error, error_description: description } },
  )
}

test('the token endpoint', async (t) => {
  const emulator = await startTestEmulator(t)

  await t.test('authorization_code with Basic auth and PKCE: the full answer', async () => {
    const { code: value, verifier } = await code(emulator)
    const answer = await tokenRequest(emulator, {
      grant_type: 'authorization_code',
      code: value,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    })
    assert.equal(answer.status, 200)
    assert.equal(answer.contentType, 'application/json')
    const body = answer.json as Record<string, unknown>
    assert.deepEqual(Object.keys(body), [
      'access_token',
      'expires_in',
      'token_type',
      'scope',
      'refresh_token',
      'account_id',
      'uid',
    ])
    assert.match(body.access_token as string, /^sl\.[A-Za-z0-9_-]{140}$/)
    assert.match(body.refresh_token as string, /^[A-Za-z0-9_-]{64}$/)
    assert.deepEqual(
      { ...body, access_token: '', refresh_token: '' },
      {
        access_token: '',
        expires_in: 14400,
        token_type: 'bearer',
        scope: 'account_info.read files.metadata.read',
        refresh_token: '',
        account_id: ACCOUNT_IDS.alice,
        uid: '1001001',
      },
    )
    const log = emulator.counters().tokenRequestLog.at(-1)
    assert.deepEqual(log, {
      grantType: 'authorization_code',
      params: {
        grant_type: 'authorization_code',
        code: value,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      },
      clientAuth: 'basic',
    })
  })

  await t.test('parameters in the query string work as well as a form body', async () => {
    const { code: value, verifier } = await code(emulator)
    const answer = await tokenRequest(
      emulator,
      {
        grant_type: 'authorization_code',
        code: value,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        client_id: APP_KEY,
        client_secret: APP_SECRET,
      },
      { auth: null, query: true },
    )
    assert.equal(answer.status, 200)
    assert.equal(emulator.counters().tokenRequestLog.at(-1)?.clientAuth, 'param')
  })

  await t.test('a code is single-use; replaying it revokes what it granted', async () => {
    const { code: value, verifier } = await code(emulator)
    const params = {
      grant_type: 'authorization_code',
      code: value,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    }
    const first = (await tokenRequest(emulator, params)).json as {
      access_token: string
      refresh_token: string
    }
    assertOAuthError(
      await tokenRequest(emulator, params),
      'invalid_grant',
      "code doesn't exist or has expired",
    )
    assert.equal(
      (await rpc(emulator, 'users/get_current_account', { token: first.access_token })).status,
      401,
    )
    assertOAuthError(
      await tokenRequest(emulator, {
        grant_type: 'refresh_token',
        refresh_token: first.refresh_token,
      }),
      'invalid_grant',
      'refresh token is invalid or revoked',
    )
  })

  await t.test('a code expires after ten minutes', async () => {
    const { code: value, verifier } = await code(emulator)
    emulator.advanceClock(600)
    assertOAuthError(
      await tokenRequest(emulator, {
        grant_type: 'authorization_code',
        code: value,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      }),
      'invalid_grant',
      "code doesn't exist or has expired",
    )
  })

  await t.test('the redirect_uri must be the one of the authorize request', async () => {
    const { code: value, verifier } = await code(emulator)
    const base = { grant_type: 'authorization_code', code: value, code_verifier: verifier }
    assertOAuthError(await tokenRequest(emulator, base), 'invalid_grant', 'redirect_uri mismatch')
    assertOAuthError(
      await tokenRequest(emulator, { ...base, redirect_uri: `${REDIRECT_URI}/` }),
      'invalid_grant',
      'redirect_uri mismatch',
    )
    assert.equal(
      (await tokenRequest(emulator, { ...base, redirect_uri: REDIRECT_URI })).status,
      200,
    )
  })

  await t.test(
    'PKCE: no verifier, a malformed one, a wrong one (which burns the code)',
    async () => {
      const { code: value, verifier } = await code(emulator)
      const base = { grant_type: 'authorization_code', code: value, redirect_uri: REDIRECT_URI }
      assertOAuthError(await tokenRequest(emulator, base), 'invalid_grant', 'missing code_verifier')
      assertOAuthError(
        await tokenRequest(emulator, { ...base, code_verifier: 'short' }),
        'invalid_request',
        'code_verifier must be 43-128 characters of [A-Za-z0-9._~-]',
      )
      assertOAuthError(
        await tokenRequest(emulator, { ...base, code_verifier: pkcePair().verifier }),
        'invalid_grant',
        'invalid code verifier',
      )
      assertOAuthError(
        await tokenRequest(emulator, { ...base, code_verifier: verifier }),
        'invalid_grant',
        "code doesn't exist or has expired",
      )
    },
  )

  await t.test('without PKCE a secret is required, and a verifier is refused', async () => {
    const plain = await code(emulator, { challenge: null })
    assertOAuthError(
      await tokenRequest(
        emulator,
        {
          grant_type: 'authorization_code',
          code: plain.code,
          redirect_uri: REDIRECT_URI,
          client_id: APP_KEY,
        },
        { auth: null },
      ),
      'invalid_request',
      'No auth function available for given request',
    )
    assertOAuthError(
      await tokenRequest(emulator, {
        grant_type: 'authorization_code',
        code: plain.code,
        redirect_uri: REDIRECT_URI,
        code_verifier: plain.verifier,
      }),
      'invalid_grant',
      'code_verifier given, but the code was issued without a code_challenge',
    )
    const answer = await tokenRequest(emulator, {
      grant_type: 'authorization_code',
      code: plain.code,
      redirect_uri: REDIRECT_URI,
    })
    assert.equal(answer.status, 200)
  })

  await t.test('online access: no refresh token', async () => {
    const { code: value, verifier } = await code(emulator, { accessType: 'online' })
    const answer = await tokenRequest(emulator, {
      grant_type: 'authorization_code',
      code: value,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    })
    assert.equal(answer.status, 200)
    assert.equal((answer.json as Record<string, unknown>).refresh_token, undefined)
  })

  await t.test('client authentication errors', async () => {
    const wrongSecret = `Basic ${Buffer.from(`${APP_KEY}:nope`).toString('base64')}`
    assertOAuthError(
      await tokenRequest(
        emulator,
        { grant_type: 'refresh_token', refresh_token: 'x'.repeat(64) },
        { auth: wrongSecret },
      ),
      'invalid_client',
      'Invalid client_id or client_secret',
    )
    assertOAuthError(
      await tokenRequest(
        emulator,
        {
          grant_type: 'refresh_token',
          refresh_token: 'x'.repeat(64),
          client_id: 'other',
          client_secret: 's',
        },
        { auth: null },
      ),
      'invalid_client',
      'Invalid client_id or client_secret',
    )
    assertOAuthError(
      await tokenRequest(emulator, {
        grant_type: 'refresh_token',
        refresh_token: 'x'.repeat(64),
        client_id: APP_KEY,
      }),
      'invalid_request',
      'unknown field "client_id"',
    )
    assertOAuthError(
      await tokenRequest(
        emulator,
        { grant_type: 'refresh_token', refresh_token: 'x'.repeat(64) },
        { auth: null },
      ),
      'invalid_request',
      'missing required field "client_id"',
    )
  })

  await t.test('request errors', async () => {
    assertOAuthError(
      await tokenRequest(emulator, {}),
      'invalid_request',
      'missing required field "grant_type"',
    )
    assertOAuthError(
      await tokenRequest(emulator, { grant_type: 'password' }),
      'unsupported_grant_type',
      'grant_type "password" is not supported',
    )
    assertOAuthError(
      await tokenRequest(emulator, { grant_type: 'authorization_code', prompt: 'x' }),
      'invalid_request',
      'unknown field "prompt"',
    )
    assertOAuthError(
      await tokenRequest(emulator, { grant_type: 'authorization_code' }),
      'invalid_request',
      'missing required field "code"',
    )
    const twice = await fetch(`${emulator.url}/oauth2/token?grant_type=refresh_token`, {
      method: 'POST',
      headers: { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token',
    })
    assert.deepEqual(await twice.json(), {
      error: 'invalid_request',
      error_description: 'duplicate field "grant_type"',
    })
    // The SDK's `dataOnBody` mode posts "[object Object]" as JSON.
    const json = await fetch(`${emulator.url}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: BASIC, 'content-type': 'application/json' },
      body: '[object Object]',
    })
    assert.deepEqual(await json.json(), {
      error: 'invalid_request',
      error_description: 'request body must be application/x-www-form-urlencoded',
    })
  })

  await t.test('refresh: a new access token, no new refresh token, scopes may narrow', async () => {
    const { code: value, verifier } = await code(emulator)
    const granted = (
      await tokenRequest(emulator, {
        grant_type: 'authorization_code',
        code: value,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      })
    ).json as { access_token: string; refresh_token: string }
    const refreshed = await tokenRequest(emulator, {
      grant_type: 'refresh_token',
      refresh_token: granted.refresh_token,
    })
    assert.equal(refreshed.status, 200)
    const body = refreshed.json as Record<string, unknown>
    assert.deepEqual(Object.keys(body), ['access_token', 'token_type', 'expires_in', 'scope'])
    assert.deepEqual(
      [body.token_type, body.expires_in, body.scope],
      ['bearer', 14400, 'account_info.read files.metadata.read'],
    )
    // Refreshing does not revoke the earlier access token.
    assert.equal(
      (await rpc(emulator, 'users/get_current_account', { token: granted.access_token })).status,
      200,
    )

    const narrow = await tokenRequest(emulator, {
      grant_type: 'refresh_token',
      refresh_token: granted.refresh_token,
      scope: 'files.metadata.read',
    })
    const narrowToken = (narrow.json as { access_token: string; scope: string }).access_token
    assert.equal((narrow.json as { scope: string }).scope, 'files.metadata.read')
    assert.equal(
      (await rpc(emulator, 'users/get_current_account', { token: narrowToken })).status,
      401,
    )
    assertOAuthError(
      await tokenRequest(emulator, {
        grant_type: 'refresh_token',
        refresh_token: granted.refresh_token,
        scope: 'files.content.write',
      }),
      'invalid_scope',
      'requested scope is not a subset of the granted scopes',
    )
    assertOAuthError(
      await tokenRequest(
        emulator,
        { grant_type: 'refresh_token', refresh_token: granted.refresh_token, client_id: APP_KEY },
        { auth: null },
      ),
      'invalid_request',
      'No auth function available for given request',
    )
    assertOAuthError(
      await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'not a token' }),
      'invalid_grant',
      'refresh token is malformed',
    )
    emulator.revokeRefreshTokens(ACCOUNT_IDS.alice)
    assertOAuthError(
      await tokenRequest(emulator, {
        grant_type: 'refresh_token',
        refresh_token: granted.refresh_token,
      }),
      'invalid_grant',
      'refresh token is invalid or revoked',
    )
  })

  await t.test('expireAccessTokens with olderThanMs ends only the tokens that old', async () => {
    const granted = await connect(emulator, ACCOUNT_IDS.bob)
    emulator.advanceClock(60)
    const refreshed = (
      await tokenRequest(emulator, {
        grant_type: 'refresh_token',
        refresh_token: granted.refresh_token as string,
      })
    ).json as { access_token: string }
    emulator.expireAccessTokens(ACCOUNT_IDS.bob, { olderThanMs: 30_000 })
    const statusOf = async (token: string) =>
      (await rpc(emulator, 'users/get_current_account', { token })).status
    assert.equal(await statusOf(granted.access_token), 401, 'issued 60 s ago')
    assert.equal(await statusOf(refreshed.access_token), 200, 'issued just now')
    assert.throws(
      () => emulator.expireAccessTokens(ACCOUNT_IDS.bob, { olderThanMs: -1 }),
      /olderThanMs must be a number ≥ 0/,
    )
  })

  await t.test('counters count every request by grant type', async () => {
    emulator.resetCounters()
    await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'y'.repeat(64) })
    await tokenRequest(emulator, { grant_type: 'authorization_code', code: 'nope' })
    await tokenRequest(emulator, { grant_type: 'refresh_token', refresh_token: 'z'.repeat(64) })
    assert.deepEqual(emulator.counters().tokenRequests, { authorization_code: 1, refresh_token: 2 })
  })
})
