/** The official SDK, origins rewritten to the emulator, through the whole connection cycle. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Dropbox, DropboxAuth, DropboxResponseError, type files } from 'dropbox'
import { ACCOUNT_IDS, dropboxFetch } from '../../emulator/index.ts'
import { APP_KEY, APP_SECRET, REDIRECT_URI, startTestEmulator } from './test-helpers.ts'

interface TokenResult {
  access_token: string
  refresh_token: string
  expires_in: number
  token_type: string
  scope: string
  uid: string
  account_id: string
}

test('authorize (PKCE) → consent → exchange → account → paged listing → refresh → revoke', async (t) => {
  const emulator = await startTestEmulator(t)
  const fetch = dropboxFetch(emulator.url)

  // The SDK never sends the verifier when it holds a secret: the exchange is a public client's.
  const pkce = new DropboxAuth({ clientId: APP_KEY, fetch })
  const scopes = ['account_info.read', 'files.metadata.read']
  const url = String(
    await pkce.getAuthenticationUrl(
      REDIRECT_URI,
      'state-1',
      'code',
      'offline',
      scopes,
      'none',
      true,
    ),
  )
  assert.match(
    url,
    /^https:\/\/dropbox\.com\/oauth2\/authorize\?response_type=code&client_id=test-app-key&/,
  )

  const location = new URL(
    await emulator.consent(url, { accountId: ACCOUNT_IDS.alice, decision: 'allow' }),
  )
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI)
  assert.deepEqual([...location.searchParams.keys()], ['code', 'state'])
  assert.equal(location.searchParams.get('state'), 'state-1')

  const exchange = await pkce.getAccessTokenFromCode(
    REDIRECT_URI,
    location.searchParams.get('code') as string,
  )
  const tokens = exchange.result as TokenResult
  assert.deepEqual(Object.keys(tokens).sort(), [
    'access_token',
    'account_id',
    'expires_in',
    'refresh_token',
    'scope',
    'token_type',
    'uid',
  ])
  assert.equal(tokens.token_type, 'bearer')
  assert.equal(tokens.expires_in, 14400)
  assert.equal(tokens.scope, 'account_info.read files.metadata.read')
  assert.equal(tokens.account_id, ACCOUNT_IDS.alice)
  assert.equal(tokens.uid, '1001001')
  const exchangeLog = emulator.counters().tokenRequestLog[0]
  assert.equal(exchangeLog?.clientAuth, 'none')
  assert.deepEqual(Object.keys(exchangeLog?.params ?? {}).sort(), [
    'client_id',
    'code',
    'code_verifier',
    'grant_type',
    'redirect_uri',
  ])
  assert.equal(exchangeLog?.params.code_verifier, pkce.getCodeVerifier())

  const auth = new DropboxAuth({
    clientId: APP_KEY,
    clientSecret: APP_SECRET,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    accessTokenExpiresAt: new Date(Date.now() + tokens.expires_in * 1000),
    fetch,
  })
  const dbx = new Dropbox({ auth, fetch })

  const account = (await dbx.usersGetCurrentAccount()).result
  assert.equal(account.account_id, ACCOUNT_IDS.alice)
  assert.equal(account.email, 'alice@example.com')
  assert.equal(account.name.display_name, 'Alice Example')
  assert.deepEqual(account.root_info, {
    '.tag': 'user',
    root_namespace_id: '1001',
    home_namespace_id: '1001',
  })
  assert.equal(account.team, undefined)

  const names: string[] = []
  let page = (await dbx.filesListFolder({ path: '/Big', limit: 150 })).result
  const pageSizes = [page.entries.length]
  names.push(...page.entries.map((entry) => entry.name))
  while (page.has_more) {
    page = (await dbx.filesListFolderContinue({ cursor: page.cursor })).result
    pageSizes.push(page.entries.length)
    names.push(...page.entries.map((entry) => entry.name))
  }
  assert.deepEqual(pageSizes, [150, 150, 150, 50])
  assert.deepEqual(
    names,
    Array.from({ length: 500 }, (_, i) => `file-${String(i).padStart(3, '0')}.txt`),
  )
  const first = (await dbx.filesListFolder({ path: '/Big', limit: 1 })).result
    .entries[0] as files.FileMetadataReference
  assert.equal(first['.tag'], 'file')
  assert.equal(first.path_display, '/Big/file-000.txt')

  // refreshAccessToken resolves undefined; the new token sits on the auth object.
  const before = auth.getAccessToken()
  await auth.refreshAccessToken()
  assert.notEqual(auth.getAccessToken(), before)
  assert.equal(auth.getRefreshToken(), tokens.refresh_token)
  assert.ok(auth.getAccessTokenExpiresAt() instanceof Date)
  const refreshLog = emulator.counters().tokenRequestLog[1]
  assert.equal(refreshLog?.grantType, 'refresh_token')
  assert.equal(refreshLog?.clientAuth, 'param')
  assert.deepEqual(emulator.counters().tokenRequests, { authorization_code: 1, refresh_token: 1 })
  assert.equal((await dbx.usersGetCurrentAccount()).result.account_id, ACCOUNT_IDS.alice)

  await dbx.authTokenRevoke()
  assert.equal(emulator.counters().revocations, 1)
  await assert.rejects(dbx.usersGetCurrentAccount(), (error: DropboxResponseError<unknown>) => {
    assert.ok(error instanceof DropboxResponseError)
    assert.equal(error.status, 401)
    assert.equal(
      (error.error as { error: { '.tag': string } }).error['.tag'],
      'invalid_access_token',
    )
    return true
  })
  // The revoke took the refresh token with it.
  await assert.rejects(auth.refreshAccessToken(), (error: DropboxResponseError<unknown>) => {
    assert.equal(error.status, 400)
    assert.deepEqual(error.error, {
      error: 'invalid_grant',
      error_description: 'refresh token is invalid or revoked',
    })
    return true
  })
})

test('a PKCE public client refreshes without a secret', async (t) => {
  const emulator = await startTestEmulator(t)
  const fetch = dropboxFetch(emulator.url)
  const pkce = new DropboxAuth({ clientId: APP_KEY, fetch })
  const url = String(
    await pkce.getAuthenticationUrl(
      REDIRECT_URI,
      undefined,
      'code',
      'offline',
      undefined,
      'none',
      true,
    ),
  )
  const location = new URL(
    await emulator.consent(url, { accountId: ACCOUNT_IDS.bob, decision: 'allow' }),
  )
  const tokens = (
    await pkce.getAccessTokenFromCode(REDIRECT_URI, location.searchParams.get('code') as string)
  ).result as TokenResult
  // Without scope the app's whole Permissions tab is granted.
  assert.match(tokens.scope, /\bfiles\.content\.write\b/)

  // No expiry given: the SDK refreshes before the first call.
  const auth = new DropboxAuth({ clientId: APP_KEY, refreshToken: tokens.refresh_token, fetch })
  const dbx = new Dropbox({ auth, fetch })
  const listing = (await dbx.filesListFolder({ path: '' })).result
  assert.deepEqual(
    listing.entries.map((entry) => entry.path_display),
    ['/Office', '/Readme.md'],
  )
  const refresh = emulator.counters().tokenRequestLog.at(-1)
  assert.equal(refresh?.grantType, 'refresh_token')
  assert.equal(refresh?.clientAuth, 'none')
  assert.equal(refresh?.params.refresh_token, tokens.refresh_token)
})

test('deny comes back as access_denied with the state', async (t) => {
  const emulator = await startTestEmulator(t)
  const pkce = new DropboxAuth({ clientId: APP_KEY, fetch: dropboxFetch(emulator.url) })
  const url = String(
    await pkce.getAuthenticationUrl(
      REDIRECT_URI,
      'st-9',
      'code',
      'offline',
      undefined,
      'none',
      true,
    ),
  )
  const location = new URL(
    await emulator.consent(url, { accountId: ACCOUNT_IDS.alice, decision: 'deny' }),
  )
  assert.deepEqual(Object.fromEntries(location.searchParams), {
    error: 'access_denied',
    error_description: 'The user chose not to give your app access to their Dropbox account.',
    state: 'st-9',
  })
})
