/** Every error kind as the official SDK surfaces it: `DropboxResponseError` with status, headers, error. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Dropbox, DropboxAuth, DropboxResponseError } from 'dropbox'
import { ACCOUNT_IDS, dropboxFetch } from '../../emulator/index.ts'
import { APP_KEY, APP_SECRET, connect, startTestEmulator, withoutDots } from './test-helpers.ts'

type SdkError = DropboxResponseError<unknown>

/** Resolves to the thrown error's (status, retry-after header, body with normalised dots). */
async function failure(
  call: Promise<unknown>,
): Promise<{ status: number; retryAfter: string | null; error: unknown }> {
  try {
    await call
  } catch (error) {
    assert.ok(error instanceof DropboxResponseError, `expected DropboxResponseError, got ${error}`)
    const e = error as SdkError
    return {
      status: e.status,
      retryAfter: e.headers.get('retry-after'),
      error: withoutDots(e.error),
    }
  }
  assert.fail('the call succeeded')
}

test('the SDK sees each Dropbox error kind as Dropbox shapes it', async (t) => {
  const emulator = await startTestEmulator(t)
  const fetch = dropboxFetch(emulator.url)
  const tokens = await connect(emulator, ACCOUNT_IDS.alice)
  const auth = new DropboxAuth({
    clientId: APP_KEY,
    clientSecret: APP_SECRET,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token as string,
    accessTokenExpiresAt: new Date(Date.now() + 3_600_000),
    fetch,
  })
  const dbx = new Dropbox({ auth, fetch })

  await t.test('400 is plain text: the SDK hands over a string', async () => {
    assert.deepEqual(await failure(dbx.filesListFolder({ path: '/' })), {
      status: 400,
      retryAfter: null,
      error:
        'Error in call to API function "files/list_folder": request body: path: Specify the root folder as an empty string rather than as "/".',
    })
  })

  await t.test('409 route errors', async () => {
    for (const [path, tag] of [
      ['/Nope', 'not_found'],
      ['/Office/notes.txt', 'not_folder'],
      ['/Office/', 'malformed_path'],
    ] as const) {
      assert.deepEqual(await failure(dbx.filesListFolder({ path })), {
        status: 409,
        retryAfter: null,
        error: { error_summary: `path/${tag}/`, error: { '.tag': 'path', path: { '.tag': tag } } },
      })
    }
  })

  await t.test('409 reset, and a cursor Dropbox never issued', async () => {
    const { cursor } = (await dbx.filesListFolder({ path: '/Office' })).result
    emulator.resetCursors(ACCOUNT_IDS.alice)
    assert.deepEqual(await failure(dbx.filesListFolderContinue({ cursor })), {
      status: 409,
      retryAfter: null,
      error: { error_summary: 'reset/', error: { '.tag': 'reset' } },
    })
    assert.deepEqual(await failure(dbx.filesListFolderContinue({ cursor: 'AAgarbage' })), {
      status: 400,
      retryAfter: null,
      error:
        'Error in call to API function "files/list_folder/continue": Invalid "cursor" parameter.',
    })
  })

  await t.test('401 invalid, expired and missing-scope tokens', async () => {
    const stranger = new Dropbox({ accessToken: 'sl.not-a-token', fetch })
    assert.deepEqual(await failure(stranger.usersGetCurrentAccount()), {
      status: 401,
      retryAfter: null,
      error: { error_summary: 'invalid_access_token/', error: { '.tag': 'invalid_access_token' } },
    })
    const narrow = await connect(emulator, ACCOUNT_IDS.alice, { scope: 'account_info.read' })
    assert.deepEqual(
      await failure(
        new Dropbox({ accessToken: narrow.access_token, fetch }).filesListFolder({ path: '' }),
      ),
      {
        status: 401,
        retryAfter: null,
        error: {
          error_summary: 'missing_scope/',
          error: { '.tag': 'missing_scope', required_scope: 'files.metadata.read' },
        },
      },
    )
    emulator.expireAccessTokens(ACCOUNT_IDS.alice)
    assert.deepEqual(await failure(dbx.usersGetCurrentAccount()), {
      status: 401,
      retryAfter: null,
      error: { error_summary: 'expired_access_token/', error: { '.tag': 'expired_access_token' } },
    })
    await auth.refreshAccessToken()
    assert.equal((await dbx.usersGetCurrentAccount()).result.account_id, ACCOUNT_IDS.alice)
  })

  await t.test('422 invalid_root carries the current root info', async () => {
    const rooted = new Dropbox({
      auth,
      fetch,
      pathRoot: JSON.stringify({ '.tag': 'root', root: '9999' }),
    })
    assert.deepEqual(await failure(rooted.filesListFolder({ path: '' })), {
      status: 422,
      retryAfter: null,
      error: {
        error_summary: 'invalid_root/',
        error: {
          '.tag': 'invalid_root',
          invalid_root: { '.tag': 'user', root_namespace_id: '1001', home_namespace_id: '1001' },
        },
      },
    })
  })

  await t.test('429 with a JSON body and with a text body', async () => {
    emulator.injectFault('/2/files/list_folder', {
      kind: 'rate_limit',
      retryAfter: 7,
      body: 'json',
    })
    assert.deepEqual(await failure(dbx.filesListFolder({ path: '' })), {
      status: 429,
      retryAfter: '7',
      error: {
        error_summary: 'too_many_requests/',
        error: { reason: { '.tag': 'too_many_requests' }, retry_after: 7 },
      },
    })
    emulator.injectFault('/2/files/list_folder', {
      kind: 'rate_limit',
      retryAfter: 3,
      body: 'text',
    })
    assert.deepEqual(await failure(dbx.filesListFolder({ path: '' })), {
      status: 429,
      retryAfter: '3',
      error: 'Too Many Requests',
    })
  })

  await t.test('5xx', async () => {
    emulator.injectFault('/2/users/get_current_account', { kind: 'status', status: 503 })
    assert.deepEqual(await failure(dbx.usersGetCurrentAccount()), {
      status: 503,
      retryAfter: null,
      error: 'Service Unavailable',
    })
  })

  await t.test(
    'a truncated JSON answer reaches the caller as a string (the SDK does not notice)',
    async () => {
      emulator.injectFault('/2/users/get_current_account', { kind: 'malformed_json' })
      const answer = await dbx.usersGetCurrentAccount()
      assert.equal(answer.status, 200)
      assert.equal(typeof answer.result, 'string')
    },
  )

  await t.test('a reset connection rejects the fetch itself', async () => {
    emulator.injectFault('/2/users/get_current_account', { kind: 'reset' })
    await assert.rejects(
      dbx.usersGetCurrentAccount(),
      (error: Error & { cause?: { code?: string } }) => {
        assert.equal(error.name, 'TypeError')
        assert.equal(error.cause?.code, 'ECONNRESET')
        return true
      },
    )
  })

  await t.test('a revoked refresh token fails the refresh with invalid_grant', async () => {
    emulator.revokeRefreshTokens(ACCOUNT_IDS.alice)
    assert.deepEqual(await failure(auth.refreshAccessToken()), {
      status: 400,
      retryAfter: null,
      error: { error: 'invalid_grant', error_description: 'refresh token is invalid or revoked' },
    })
  })
})
