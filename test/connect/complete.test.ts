/** `complete` (contract §3.4): failures after Dropbox granted tokens never leave a live grant behind. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { Browser, type Stack, startStack } from '../stack.ts'

/** Create → /connect → consent (accountId) → callback: the session id, authorized, not completed. */
async function authorizedSession(stack: Stack, userId: string, accountId: string) {
  const created = await stack.api(userId, 'POST', '/v1/connect/sessions')
  const session = (await created.json()) as { id: string; connect_url: string }
  const browser = new Browser()
  const toDropbox = await browser.get(session.connect_url)
  const back = await stack.emulator.consent(toDropbox.headers.get('location') as string, {
    accountId,
    decision: 'allow',
  })
  const toMainApp = await browser.get(back)
  assert.equal(toMainApp.status, 303)
  return { id: session.id, returnUrl: new URL(toMainApp.headers.get('location') as string) }
}

async function problem(response: Response) {
  return (await response.json()) as { code: string; detail: string }
}

test('the account read fails for good after the exchange: the grant is revoked, nothing stored', async (t) => {
  const stack = await startStack(t)
  const session = await authorizedSession(stack, 'user-1', ACCOUNT_IDS.alice)
  stack.emulator.injectFault('/2/users/get_current_account', { kind: 'malformed_json' })
  const completed = await stack.api('user-1', 'POST', `/v1/connect/sessions/${session.id}/complete`)
  assert.equal(completed.status, 502)
  assert.equal((await problem(completed)).code, 'upstream_error')
  assert.equal(stack.emulator.counters().tokenRequests.authorization_code, 1)
  assert.equal(stack.emulator.counters().revocations, 1, 'the granted tokens were revoked')
  const status = await (await stack.api('user-1', 'GET', '/v1/connection')).json()
  assert.deepEqual(status, { provider: 'dropbox', status: 'not_connected' })
  const audit = stack.logs.parsed().filter((line) => line.event === 'revocation_succeeded')
  assert.deepEqual(
    audit.map((line) => line.reason),
    ['failed_connect'],
  )
})

test('Dropbox refuses the code (invalid_grant): 410 session_expired', async (t) => {
  const stack = await startStack(t)
  const session = await authorizedSession(stack, 'user-1', ACCOUNT_IDS.alice)
  // The code outlived Dropbox's patience (codes are short-lived).
  stack.emulator.advanceClock(3600)
  const completed = await stack.api('user-1', 'POST', `/v1/connect/sessions/${session.id}/complete`)
  assert.equal(completed.status, 410)
  assert.equal((await problem(completed)).code, 'session_expired')
})
