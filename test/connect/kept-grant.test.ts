/**
 * Contract §3.4: an account read that fails transiently after the code exchange leaves the
 * session completable; the retry uses the grant kept in the session, never a second exchange,
 * and a kept grant whose session ends (expired and purged, or cancelled) is revoked at Dropbox.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import type { Fault } from '../../emulator/types.ts'
import { SESSION_TTL_MS } from '../../src/connect/connect-flow.ts'
import { type Stack, startStack } from '../stack.ts'
import { auditEvents, complete, problem, refreshAnswer, until, withVault } from './support.ts'

const ACCOUNT_READ = '/2/users/get_current_account'
/** The connector retries a 5xx or reset of a read up to 4 times itself: all of them fail. */
const READ_ATTEMPTS = 4

const TRANSIENT: Array<{
  name: string
  fault: Fault
  times: number
  status: number
  code: string
}> = [
  {
    name: '503',
    fault: { kind: 'status', status: 503 },
    times: READ_ATTEMPTS,
    status: 503,
    code: 'upstream_unavailable',
  },
  {
    name: 'reset',
    fault: { kind: 'reset' },
    times: READ_ATTEMPTS,
    status: 503,
    code: 'upstream_unavailable',
  },
  {
    name: '429',
    fault: { kind: 'rate_limit', retryAfter: 7, body: 'json' },
    times: 1,
    status: 429,
    code: 'upstream_rate_limited',
  },
]

async function sessionStatus(stack: Stack, id: string) {
  return withVault(stack, async (vault) => (await vault.sessions.findById(id))?.status)
}

for (const { name, fault, times, status, code } of TRANSIENT) {
  test(`the account read fails (${name}) after the exchange: the retry completes with one exchange`, async (t) => {
    const stack = await startStack(t)
    const session = await stack.authorize('user-1', ACCOUNT_IDS.alice)
    stack.emulator.injectFault(ACCOUNT_READ, fault, times)
    const failed = await complete(stack, 'user-1', session)
    assert.equal(failed.status, status)
    assert.equal((await problem(failed)).code, code)
    assert.ok(failed.headers.get('retry-after'), 'the caller is told when to retry')
    assert.equal(await sessionStatus(stack, session.id), 'authorized')
    assert.equal(stack.emulator.counters().revocations, 0, 'the grant is kept, not revoked')

    const retried = await complete(stack, 'user-1', session)
    assert.equal(retried.status, 200)
    assert.equal(((await retried.json()) as { status: string }).status, 'connected')
    assert.equal(stack.emulator.counters().tokenRequests.authorization_code, 1, 'one exchange')
    assert.equal(stack.emulator.counters().revocations, 0)
    assert.equal((await stack.api('user-1', 'GET', '/v1/me')).status, 200)
    assert.equal(await sessionStatus(stack, session.id), 'completed')
  })
}

/**
 * The refresh token of the grant a session keeps, read through the port a retry uses: claimed,
 * then given back exactly as it was.
 */
async function keptRefreshToken(stack: Stack, sessionId: string): Promise<string> {
  return withVault(stack, async (vault) => {
    const claimed = await vault.sessions.claimAuthorization(sessionId)
    assert.ok(claimed && 'grant' in claimed, 'the session keeps a grant')
    assert.equal(await vault.sessions.keepGrant(sessionId, claimed.grant), true)
    return claimed.grant.refreshToken
  })
}

async function sessionKeepingGrant(stack: Stack) {
  const session = await stack.authorize('user-1', ACCOUNT_IDS.alice)
  stack.emulator.injectFault(ACCOUNT_READ, { kind: 'status', status: 503 }, READ_ATTEMPTS)
  assert.equal((await complete(stack, 'user-1', session)).status, 503)
  const refreshToken = await keptRefreshToken(stack, session.id)
  assert.equal((await refreshAnswer(stack, refreshToken)).status, 200, 'alive while kept')
  return { session, refreshToken }
}

async function assertRevokedFromQueue(stack: Stack, refreshToken: string) {
  await until(() => stack.emulator.counters().revocations === 1, 'the revocation')
  assert.deepEqual(await refreshAnswer(stack, refreshToken), {
    status: 400,
    error: 'invalid_grant',
  })
  assert.deepEqual(
    auditEvents(stack, 'revocation_queued').map((line) => [line.user, line.reason]),
    [['user-1', 'failed_connect']],
  )
  await until(() => auditEvents(stack, 'revocation_succeeded').length === 1, 'the audit line')
  assert.equal(auditEvents(stack, 'revocation_succeeded')[0]?.queued, true)
}

test('a kept grant whose session expires is revoked once the session is purged', async (t) => {
  let now = Date.now()
  const stack = await startStack(t, {
    deps: { clock: () => now, revocation: { baseDelayMs: 0, drainIntervalMs: 20 } },
  })
  const { session, refreshToken } = await sessionKeepingGrant(stack)
  now += SESSION_TTL_MS + 1
  // Every new session purges the expired ones first.
  assert.equal((await stack.api('user-2', 'POST', '/v1/connect/sessions')).status, 201)
  await assertRevokedFromQueue(stack, refreshToken)
  assert.equal((await complete(stack, 'user-1', session)).status, 404, 'purged')
})

test('a kept grant whose session is cancelled by a refused complete is revoked', async (t) => {
  const stack = await startStack(t, {
    deps: { revocation: { baseDelayMs: 0, drainIntervalMs: 20 } },
  })
  const { session, refreshToken } = await sessionKeepingGrant(stack)
  const hijack = await stack.api('user-1', 'POST', `/v1/connect/sessions/${session.id}/complete`, {
    completion: 'guessed',
  })
  assert.equal(hijack.status, 403)
  assert.match((await problem(hijack)).detail, /has been cancelled/)
  await assertRevokedFromQueue(stack, refreshToken)
  const status = await (await stack.api('user-1', 'GET', '/v1/connection')).json()
  assert.deepEqual(status, { provider: 'dropbox', status: 'not_connected' })
  assert.equal(await sessionStatus(stack, session.id), 'cancelled')
})
