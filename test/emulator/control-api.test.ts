/** `/__emulator/*` through the control client, and the call log's bound. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CALL_LOG_SIZE, Counters } from '../../emulator/counters.ts'
import { ACCOUNT_IDS, accountIdFor, createControlClient, teamIdFor } from '../../emulator/index.ts'
import {
  APP_KEY,
  authorizeUrl,
  connect,
  pkcePair,
  REDIRECT_URI,
  rpc,
  startTestEmulator,
} from './test-helpers.ts'

test('the control API drives the emulator from another process', async (t) => {
  const emulator = await startTestEmulator(t, { seed: false })
  const control = createControlClient(emulator.url)

  await control.seedAccount({
    accountId: accountIdFor('zoe'),
    email: 'zoe@example.com',
    givenName: 'Zoe',
    surname: 'Remote',
    homeNamespaceId: '7001',
    files: [{ path: '/Docs/a.txt', type: 'file', size: 5 }],
  })
  await control.addFiles(accountIdFor('zoe'), [{ path: '/Docs/b.txt', type: 'file' }])
  await control.deleteFile(accountIdFor('zoe'), '/Docs/a.txt')
  await control.registerApp({
    appKey: 'remote-app',
    appSecret: 'remote-secret',
    redirectUris: [REDIRECT_URI],
  })

  const state = (await control.state()) as {
    accounts: Array<{ accountId: string }>
    apps: Array<{ appKey: string }>
  }
  assert.deepEqual(
    state.accounts.map((a) => a.accountId),
    [accountIdFor('zoe')],
  )
  assert.deepEqual(
    state.apps.map((a) => a.appKey),
    [APP_KEY, 'remote-app'],
  )

  const location = await control.consent(
    authorizeUrl(emulator, {
      client_id: APP_KEY,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    }),
    { accountId: accountIdFor('zoe'), decision: 'allow' },
  )
  assert.match(location, /^http:\/\/localhost:8080\/connect\/callback\?code=/)

  const { access_token: token } = await connect(emulator, accountIdFor('zoe'))
  const listing = await rpc(emulator, 'files/list_folder', { token, body: { path: '/docs' } })
  assert.deepEqual(
    (listing.json as { entries: Array<{ name: string }> }).entries.map((e) => e.name),
    ['b.txt'],
  )

  await control.injectFault('/2/files/list_folder', { kind: 'status', status: 502 }, 2)
  assert.equal(
    (await rpc(emulator, 'files/list_folder', { token, body: { path: '' } })).status,
    502,
  )
  await control.clearFaults()
  assert.equal(
    (await rpc(emulator, 'files/list_folder', { token, body: { path: '' } })).status,
    200,
  )

  await control.expireAccessTokens(accountIdFor('zoe'), { olderThanMs: 3_600_000 })
  assert.equal((await rpc(emulator, 'users/get_current_account', { token })).status, 200)
  await control.expireAccessTokens(accountIdFor('zoe'))
  assert.equal((await rpc(emulator, 'users/get_current_account', { token })).status, 401)
  await control.advanceClock(10)
  await control.revokeRefreshTokens(accountIdFor('zoe'))
  await control.resetCursors(accountIdFor('zoe'))
  await control.migrateToTeam(accountIdFor('zoe'), { rootNamespaceId: '7000', name: 'Remote Team' })

  const counters = await control.counters()
  assert.equal(counters.tokenRequests.authorization_code, 1)
  assert.equal(counters.calls.length, 5)
  await control.resetCounters()
  assert.deepEqual((await control.counters()).calls, [])

  await assert.rejects(control.addFiles(accountIdFor('nobody'), []), {
    message: `emulator add-files: no account "${accountIdFor('nobody')}"`,
  })
  await assert.rejects(control.advanceClock(-1), /seconds must be a finite number/)
  const unknown = await fetch(`${emulator.url}/__emulator/nope`, { method: 'POST' })
  assert.equal(unknown.status, 404)
  const wrongMethod = await fetch(`${emulator.url}/__emulator/counters`, { method: 'POST' })
  assert.equal(wrongMethod.status, 405)
  const notJson = await fetch(`${emulator.url}/__emulator/clear-faults`, {
    method: 'POST',
    body: '[',
  })
  assert.equal(notJson.status, 400)
})

test('the call log keeps the last 10,000 calls, oldest first', () => {
  const counters = new Counters()
  for (let i = 0; i < CALL_LOG_SIZE + 5; i++) {
    counters.recordCall({ route: `/2/r${i}`, headers: {}, body: null, status: 200 })
  }
  const { calls } = counters.snapshot()
  assert.equal(calls.length, CALL_LOG_SIZE)
  assert.equal(calls[0]?.route, '/2/r5')
  assert.equal(calls.at(-1)?.route, `/2/r${CALL_LOG_SIZE + 4}`)
})

test('seeding checks what it is given', async (t) => {
  const emulator = await startTestEmulator(t)
  const base = { email: 'x@example.com', givenName: 'X', surname: 'Y' }
  assert.throws(
    () => emulator.seedAccount({ ...base, accountId: 'alice', homeNamespaceId: '1' }),
    /dbid: and 35 characters/,
  )
  assert.throws(
    () => emulator.seedAccount({ ...base, accountId: ACCOUNT_IDS.alice, homeNamespaceId: '8' }),
    /already exists/,
  )
  assert.throws(
    () => emulator.seedAccount({ ...base, accountId: accountIdFor('x'), homeNamespaceId: '1001' }),
    /already exists/,
  )
  assert.throws(
    () =>
      emulator.seedAccount({
        ...base,
        accountId: accountIdFor('y'),
        homeNamespaceId: '8001',
        team: { id: teamIdFor('other'), name: 'Other', rootNamespaceId: '3000', homePath: '/Y' },
      }),
    new RegExp(`not the root of team ${teamIdFor('other')}`),
  )
  assert.throws(
    () => emulator.addFiles(ACCOUNT_IDS.alice, [{ path: 'Office/x', type: 'file' }]),
    /must start with/,
  )
  assert.throws(
    () => emulator.addFiles(ACCOUNT_IDS.alice, [{ path: '/Office/notes.txt/x', type: 'file' }]),
    /is a file/,
  )
  assert.throws(
    () => emulator.addFiles(ACCOUNT_IDS.alice, [{ path: '/Office', type: 'file' }]),
    /already exists as a folder/,
  )
  assert.throws(() => emulator.deleteFile(ACCOUNT_IDS.alice, '/Nope'), /does not exist/)
  assert.throws(
    () => emulator.deleteFile(ACCOUNT_IDS.carol, '/Carol Team', 'root'),
    /member folder/,
  )
  assert.throws(
    () => emulator.registerApp({ appKey: 'a', appSecret: 's', redirectUris: ['not a uri'] }),
    /redirect URI/,
  )
})
