/** `complete` (contract §3.4): failures after Dropbox granted tokens never leave a live grant behind. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { listen } from '../../src/http/listeners.ts'
import { buildTestApp } from '../helper.ts'
import { startStack } from '../stack.ts'
import { complete, problem } from './support.ts'

test('the account read fails for good after the exchange: the grant is revoked, nothing stored', async (t) => {
  const stack = await startStack(t)
  const session = await stack.authorize('user-1', ACCOUNT_IDS.alice)
  stack.emulator.injectFault('/2/users/get_current_account', { kind: 'malformed_json' })
  const completed = await complete(stack, 'user-1', session)
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
  const session = await stack.authorize('user-1', ACCOUNT_IDS.alice)
  // The code outlived Dropbox's patience (codes are short-lived).
  stack.emulator.advanceClock(3600)
  const completed = await complete(stack, 'user-1', session)
  assert.equal(completed.status, 410)
  assert.equal((await problem(completed)).code, 'session_expired')
})

test('A creates, B consents, A completes: 403 completion_mismatch, nothing connected for anyone', async (t) => {
  const stack = await startStack(t)
  // A forwards the link; B's browser consents with B's Dropbox and returns to B's main app.
  const session = await stack.authorize('user-a', ACCOUNT_IDS.bob)
  const hijack = await stack.api('user-a', 'POST', `/v1/connect/sessions/${session.id}/complete`, {
    completion: 'guessed',
  })
  assert.equal(hijack.status, 403)
  const refused = await problem(hijack)
  assert.equal(refused.code, 'completion_mismatch')
  assert.match(refused.detail, /has been cancelled/)
  // Without any secret, a second try meets the cancelled session.
  const again = await stack.api('user-a', 'POST', `/v1/connect/sessions/${session.id}/complete`)
  assert.equal(again.status, 409)
  // B's main app completes as B: the truth, not a claimed cancellation.
  const asB = await complete(stack, 'user-b', session)
  assert.equal(asB.status, 403)
  const mismatch = await problem(asB)
  assert.equal(mismatch.code, 'session_user_mismatch')
  assert.match(mismatch.detail, /already ended, so nothing changed/)
  assert.equal(stack.emulator.counters().tokenRequests.authorization_code, 0, 'no grant exists')
  for (const user of ['user-a', 'user-b']) {
    const status = await (await stack.api(user, 'GET', '/v1/connection')).json()
    assert.deepEqual(status, { provider: 'dropbox', status: 'not_connected' })
  }
  const audit = stack.logs.parsed().filter((line) => line.event === 'completion_mismatch')
  assert.equal(audit.length, 1)
  assert.equal(audit[0]?.cancelled, true)
})

test('a transient failure of the code exchange: 503, then the same secret completes', async (t) => {
  const stack = await startStack(t)
  const session = await stack.authorize('user-1', ACCOUNT_IDS.alice)
  stack.emulator.injectFault('/oauth2/token', { kind: 'status', status: 503 })
  const failed = await complete(stack, 'user-1', session)
  assert.equal(failed.status, 503)
  assert.equal((await problem(failed)).code, 'upstream_unavailable')
  const retried = await complete(stack, 'user-1', session)
  assert.equal(retried.status, 200)
  assert.equal(((await retried.json()) as { status: string }).status, 'connected')
  // The 503 answered before the emulator counted; one exchange reached it: never auto-retried.
  assert.equal(stack.emulator.counters().tokenRequests.authorization_code, 1)
  const again = await complete(stack, 'user-1', session)
  assert.equal(again.status, 409)
  assert.equal((await problem(again)).code, 'session_already_completed')
})

test('missing_scope from Dropbox marks the connection: GET /v1/connection and every call agree', async (t) => {
  const stack = await startStack(t, { env: { DROPBOX_SCOPES: 'account_info.read' } })
  const session = await stack.authorize('user-1', ACCOUNT_IDS.alice)
  assert.equal((await complete(stack, 'user-1', session)).status, 200)
  const list = await stack.api('user-1', 'GET', '/v1/workspace/list')
  assert.equal(list.status, 409)
  assert.equal((await problem(list)).code, 'reconnect_required')
  const status = (await (await stack.api('user-1', 'GET', '/v1/connection')).json()) as Record<
    string,
    unknown
  >
  assert.equal(status.status, 'reconnect_required')
  assert.equal(status.reason, 'missing_scope')
  assert.equal(status.missing_scope, 'files.metadata.read')
  const me = await stack.api('user-1', 'GET', '/v1/me')
  assert.equal(me.status, 409, 'every operation agrees until a new connect')
  assert.match((await problem(me)).detail, /files\.metadata\.read/)
})

test('a reconnect that grants the missing scope clears missing_scope: status and calls are clean', async (t) => {
  const stack = await startStack(t, { env: { DROPBOX_SCOPES: 'account_info.read' } })
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  assert.equal((await stack.api('user-1', 'GET', '/v1/workspace/list')).status, 409)
  // The operator adds the scopes to DROPBOX_SCOPES and restarts; the user connects again.
  await stack.app.close()
  const scopes = ['account_info.read', 'files.metadata.read', 'files.content.read']
  const { app } = await buildTestApp(t, {
    config: { ...stack.config, dropbox: { ...stack.config.dropbox, scopes } },
  })
  await listen(app, {
    port: Number(new URL(stack.baseUrl).port),
    host: '127.0.0.1',
    internalPort: Number(new URL(stack.internalUrl).port),
    internalHost: '127.0.0.1',
  })
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  const status = (await (await stack.api('user-1', 'GET', '/v1/connection')).json()) as Record<
    string,
    unknown
  >
  assert.equal(status.status, 'connected')
  assert.equal(status.reason, undefined)
  assert.equal(status.missing_scope, undefined)
  assert.equal((await stack.api('user-1', 'GET', '/v1/workspace/list')).status, 200)
  assert.equal((await stack.api('user-1', 'GET', '/v1/me')).status, 200)
})
