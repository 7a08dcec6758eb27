/**
 * Every audit line of the connect lifecycle names the calling service beside the user (contract
 * §9), so an operator can tell which backend connected, replaced or disconnected a grant.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { startStack } from '../stack.ts'
import { auditEvents, complete } from './support.ts'

const LIFECYCLE_EVENTS = [
  'connect_session_created',
  'completion_mismatch',
  'connect_completed',
  'connection_replaced',
  'disconnected',
  'revocation_succeeded',
]

test('connect, a refused complete, reconnect and disconnect: each audit line names the caller', async (t) => {
  const stack = await startStack(t, {
    callers: (main) => ({ 'main-app': { kids: [main.kid], operations: ['*'] } }),
  })
  const refused = await stack.authorize('user-1', ACCOUNT_IDS.alice)
  refused.returnUrl.searchParams.set('completion', 'not-the-secret')
  assert.equal((await complete(stack, 'user-1', refused)).status, 403)

  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.bob)).status, 200)
  assert.equal((await stack.api('user-1', 'DELETE', '/v1/connection')).status, 204)

  for (const event of LIFECYCLE_EVENTS) {
    const lines = auditEvents(stack, event)
    assert.ok(lines.length > 0, `${event} was logged`)
    for (const line of lines) {
      assert.equal(line.caller, 'main-app', `${event} names the caller`)
      assert.equal(line.user, 'user-1', `${event} names the user`)
    }
  }
})
