/** Contract §4 + issue 14.7: every token refresh re-reads the account's root, once. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { type Stack, startStack } from '../stack.ts'

function callsTo(stack: Stack, route: string) {
  return stack.emulator.counters().calls.filter((call) => call.route === route)
}

async function listsAsTeamAfterRefresh(stack: Stack) {
  const list = await stack.api('user-1', 'GET', '/v1/workspace/list')
  assert.equal(list.status, 200)
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 1)
  assert.equal(callsTo(stack, '/2/users/get_current_account').length, 1, 'one read per refresh')
  const listed = callsTo(stack, '/2/files/list_folder').filter((call) => call.status === 200)
  assert.equal(listed.length, 1)
  // dave's team root (see emulator/seed.ts): the listing addresses it without any /v1/me call.
  assert.match(
    listed[0]?.headers['dropbox-api-path-root'] ?? '',
    /^\{"\.tag":"root","root":"\d+"\}$/,
  )
  // Later calls keep using the stored root, and read the account no more.
  assert.equal((await stack.api('user-1', 'GET', '/v1/workspace/list')).status, 200)
  assert.equal(callsTo(stack, '/2/users/get_current_account').length, 1)
}

test('reactive refresh (401 expired_access_token): the new root is read and used by a listing', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.dave)).status, 200)
  assert.equal((await stack.api('user-1', 'GET', '/v1/workspace/list')).status, 200)
  stack.emulator.migrateToTeam(ACCOUNT_IDS.dave)
  stack.emulator.expireAccessTokens(ACCOUNT_IDS.dave)
  stack.emulator.resetCounters()
  await listsAsTeamAfterRefresh(stack)
})

test('proactive refresh (stored expiry passed): the same one account read', async (t) => {
  let now = Date.now()
  const stack = await startStack(t, { deps: { clock: () => now } })
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.dave)).status, 200)
  stack.emulator.migrateToTeam(ACCOUNT_IDS.dave)
  now += 4 * 3600_000
  stack.emulator.resetCounters()
  await listsAsTeamAfterRefresh(stack)
})

test('an account read that fails after the refresh does not fail the call', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  stack.emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  stack.emulator.injectFault('/2/users/get_current_account', { kind: 'status', status: 503 }, 10)
  const list = await stack.api('user-1', 'GET', '/v1/workspace/list')
  assert.equal(list.status, 200)
})
