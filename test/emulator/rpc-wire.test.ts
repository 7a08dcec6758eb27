/** Exact wire shapes of `/2/*` answers: status, content type, body. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { connect, type RawAnswer, rpc, startTestEmulator, withoutDots } from './test-helpers.ts'

const TEXT = 'text/plain; charset=utf-8'

function assertText(answer: RawAnswer, status: number, body: string): void {
  assert.deepEqual(
    { status: answer.status, type: answer.contentType, body: answer.text },
    { status, type: TEXT, body },
  )
}

function assertJson(answer: RawAnswer, status: number, body: unknown): void {
  assert.deepEqual(
    { status: answer.status, type: answer.contentType, body: withoutDots(answer.json) },
    { status, type: 'application/json', body },
  )
}

test('RPC wire shapes', async (t) => {
  const emulator = await startTestEmulator(t)
  const { access_token: token } = await connect(emulator, ACCOUNT_IDS.alice)

  await t.test('success: JSON, a request id, no path-root needed', async () => {
    const answer = await rpc(emulator, 'users/get_current_account', { token })
    assert.equal(answer.status, 200)
    assert.equal(answer.contentType, 'application/json')
    assert.match(answer.headers.get('x-dropbox-request-id') ?? '', /^[0-9a-f]{24}$/)
    assert.deepEqual(answer.json, {
      account_id: ACCOUNT_IDS.alice,
      name: {
        given_name: 'Alice',
        surname: 'Example',
        familiar_name: 'Alice',
        display_name: 'Alice Example',
        abbreviated_name: 'AE',
      },
      email: 'alice@example.com',
      email_verified: true,
      disabled: false,
      country: 'US',
      locale: 'en',
      referral_link: (answer.json as { referral_link: string }).referral_link,
      is_paired: false,
      account_type: { '.tag': 'basic' },
      root_info: { '.tag': 'user', root_namespace_id: '1001', home_namespace_id: '1001' },
    })
    assert.match(
      (answer.json as { referral_link: string }).referral_link,
      /^https:\/\/www\.dropbox\.com\/referrals\//,
    )
  })

  await t.test('Void routes take no body, or null', async () => {
    assert.equal(
      (await rpc(emulator, 'users/get_current_account', { token, body: 'null' })).status,
      200,
    )
    assertText(
      await rpc(emulator, 'users/get_current_account', { token, body: {} }),
      400,
      'Error in call to API function "users/get_current_account": request body: expected null, got value',
    )
    assertText(
      await rpc(emulator, 'users/get_current_account', {
        token,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      400,
      'Error in call to API function "users/get_current_account": Bad HTTP "Content-Type" header: "application/x-www-form-urlencoded".  Expecting one of "application/json", "application/json; charset=utf-8", "text/plain; charset=dropbox-cors-hack".',
    )
  })

  await t.test('missing or malformed Authorization: 400 plain text', async () => {
    assertText(
      await rpc(emulator, 'users/get_current_account'),
      400,
      'Error in call to API function "users/get_current_account": Must provide HTTP header "Authorization" or URL parameter "authorization".',
    )
    assertText(
      await rpc(emulator, 'files/list_folder', {
        headers: { authorization: 'Bearer' },
        body: { path: '' },
      }),
      400,
      'Error in call to API function "files/list_folder": Invalid authorization value in HTTP header "Authorization": "Bearer". Expecting "Bearer <oauth2-access-token>".',
    )
    assertText(
      await rpc(emulator, 'users/get_current_account', {
        headers: { authorization: 'Basic dGVzdDp0ZXN0' },
      }),
      400,
      'Error in call to API function "users/get_current_account": Invalid authorization value in HTTP header "Authorization": "Basic …". Expecting "Bearer <oauth2-access-token>".',
    )
  })

  await t.test('the credential may come as the authorization URL parameter', async () => {
    const response = await fetch(
      `${emulator.url}/2/users/get_current_account?authorization=${encodeURIComponent(`Bearer ${token}`)}`,
      { method: 'POST' },
    )
    assert.equal(response.status, 200)
  })

  await t.test('request bodies are checked like stone does', async () => {
    const cases: Array<[unknown, string]> = [
      ['{"path": ', 'request body: could not decode input as JSON'],
      [[], 'request body: expected object, got list'],
      [{}, "request body: missing required field 'path'"],
      [{ path: 7 }, 'request body: path: expected string, got integer'],
      [{ path: null }, 'request body: path: expected string, got null'],
      [{ path: '', root: 'x' }, "request body: unknown field 'root'"],
      [{ path: '', recursive: 'yes' }, 'request body: recursive: expected boolean, got string'],
      [{ path: '', limit: 0 }, 'request body: limit: 0 is not within range [1, 2000]'],
      [{ path: '', limit: 2001 }, 'request body: limit: 2001 is not within range [1, 2000]'],
      [{ path: '', limit: 1.5 }, 'request body: limit: expected integer, got float'],
      [
        { path: '/' },
        'request body: path: Specify the root folder as an empty string rather than as "/".',
      ],
      [
        { path: 'Office' },
        "request body: path: 'Office' did not match pattern '(/(.|[\\r\\n])*)?|id:.*|(ns:[0-9]+(/(.|[\\r\\n])*)?)'",
      ],
    ]
    for (const [body, message] of cases) {
      assertText(
        await rpc(emulator, 'files/list_folder', { token, body }),
        400,
        `Error in call to API function "files/list_folder": ${message}`,
      )
    }
    assertText(
      await rpc(emulator, 'files/list_folder/continue', { token, body: { cursor: '' } }),
      400,
      `Error in call to API function "files/list_folder/continue": request body: cursor: '' must be at least 1 characters, got 0`,
    )
  })

  await t.test('RPC arguments need a JSON content type', async () => {
    assertText(
      await rpc(emulator, 'files/list_folder', {
        token,
        body: '{"path": ""}',
        headers: { 'content-type': 'text/plain' },
      }),
      400,
      'Error in call to API function "files/list_folder": Bad HTTP "Content-Type" header: "text/plain".  Expecting one of "application/json", "application/json; charset=utf-8", "text/plain; charset=dropbox-cors-hack".',
    )
    for (const type of [
      'application/json; charset=utf-8',
      'text/plain; charset=dropbox-cors-hack',
    ]) {
      const answer = await rpc(emulator, 'files/list_folder', {
        token,
        body: '{"path": ""}',
        headers: { 'content-type': type },
      })
      assert.equal(answer.status, 200, type)
    }
  })

  await t.test('401 bodies', async () => {
    assertJson(await rpc(emulator, 'users/get_current_account', { token: 'nope' }), 401, {
      error_summary: 'invalid_access_token/',
      error: { '.tag': 'invalid_access_token' },
    })
    const narrow = await connect(emulator, ACCOUNT_IDS.alice, { scope: 'files.metadata.read' })
    assertJson(
      await rpc(emulator, 'users/get_current_account', { token: narrow.access_token }),
      401,
      {
        error_summary: 'missing_scope/',
        error: { '.tag': 'missing_scope', required_scope: 'account_info.read' },
      },
    )
    emulator.advanceClock(14_400)
    assertJson(await rpc(emulator, 'users/get_current_account', { token }), 401, {
      error_summary: 'expired_access_token/',
      error: { '.tag': 'expired_access_token' },
    })
  })

  await t.test('error_summary pads with a varying number of dots', async () => {
    const summaries = new Set<string>()
    for (let i = 0; i < 4; i++) {
      const answer = await rpc(emulator, 'users/get_current_account', { token: 'nope' })
      summaries.add((answer.json as { error_summary: string }).error_summary)
    }
    assert.deepEqual([...summaries].sort(), [
      'invalid_access_token/',
      'invalid_access_token/.',
      'invalid_access_token/..',
      'invalid_access_token/...',
    ])
  })

  await t.test(
    'app auth (key:secret) on list_folder: missing_scope, as Dropbox answers it',
    async () => {
      const basic = `Basic ${Buffer.from('test-app-key:test-app-secret').toString('base64')}`
      assertJson(
        await rpc(emulator, 'files/list_folder', {
          headers: { authorization: basic },
          body: { path: '' },
        }),
        401,
        {
          error_summary: 'missing_scope/',
          error: { '.tag': 'missing_scope', required_scope: 'files.metadata.read' },
        },
      )
    },
  )

  await t.test('unknown functions and methods', async () => {
    const unknown = await rpc(emulator, 'files/nope', { token })
    assert.deepEqual([unknown.status, unknown.text], [404, 'Unknown API function: "files/nope"'])
    const get = await fetch(`${emulator.url}/2/users/get_current_account`)
    assert.equal(get.status, 405)
  })
})
