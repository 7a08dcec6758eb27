/**
 * Through HTTP, with every cache on (verified assertions, opened tokens) and warm: a
 * disconnect, a reconnect to another account and a refresh take effect on the next call, and a
 * refreshed token is never sent again (contract §2, §7; issue 9).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { type Stack, startStack } from '../stack.ts'

function bearerTokensSent(stack: Stack): string[] {
  return stack.emulator
    .counters()
    .calls.filter((call) => call.route === '/2/users/get_current_account')
    .map((call) => call.headers.authorization ?? '')
}

test('disconnect and reconnect to another account: the next call sees it, warm caches or not', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.bob)).status, 200)
  const assertion = await stack.assertionFor('user-1')
  const me = () =>
    fetch(`${stack.internalUrl}/v1/me`, { headers: { 'x-identity-assertion': assertion } })
  for (let i = 0; i < 3; i++) assert.equal((await me()).status, 200)

  const removed = await fetch(`${stack.internalUrl}/v1/connection`, {
    method: 'DELETE',
    headers: { 'x-identity-assertion': assertion },
  })
  assert.equal(removed.status, 204)
  stack.emulator.resetCounters()
  const gone = await me()
  assert.equal(gone.status, 409)
  assert.equal(((await gone.json()) as { code: string }).code, 'not_connected')
  assert.deepEqual(bearerTokensSent(stack), [], 'no cached token went upstream')

  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.dave)).status, 200)
  const again = await me()
  assert.equal(again.status, 200)
  assert.equal(((await again.json()) as { account_id: string }).account_id, ACCOUNT_IDS.dave)
})

test('after a refresh the old access token is never sent again', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  stack.emulator.resetCounters()
  assert.equal((await stack.api('user-1', 'GET', '/v1/me')).status, 200)
  assert.equal((await stack.api('user-1', 'GET', '/v1/me')).status, 200)
  const [old] = bearerTokensSent(stack)
  assert.ok(old)

  stack.emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  stack.emulator.resetCounters()
  for (let i = 0; i < 3; i++) assert.equal((await stack.api('user-1', 'GET', '/v1/me')).status, 200)
  const sent = bearerTokensSent(stack)
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 1)
  // The first call was refused with the old token; every later call carries the new one
  // (one more: the refresh re-reads the account's root, contract §4).
  assert.equal(sent[0], old)
  assert.equal(sent.length, 5)
  assert.ok(sent.slice(1).every((token) => token !== old))
})
