/**
 * Contract §7: disconnect and replace revoke the *grant* at Dropbox (the emulator), refreshing
 * first when the access token is stale or refused; every outcome leaves an audit line.
 */

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { buildTestApp } from '../helper.ts'
import { type Stack, startStack } from '../stack.ts'
import { auditEvents, refreshAnswer, storedTokens, until } from './support.ts'

async function disconnect(stack: Stack, userId: string) {
  assert.equal((await stack.api(userId, 'DELETE', '/v1/connection')).status, 204)
}

test('disconnect 5 hours after connect: refresh first, revoke, the old refresh token is dead', async (t) => {
  let now = Date.now()
  const stack = await startStack(t, { deps: { clock: () => now } })
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  const tokens = await storedTokens(stack, 'user-1')
  now += 5 * 3600_000
  stack.emulator.advanceClock(5 * 3600)
  stack.emulator.resetCounters()

  await disconnect(stack, 'user-1')
  const counters = stack.emulator.counters()
  assert.equal(counters.tokenRequests.refresh_token, 1, 'refreshed before revoking')
  assert.equal(counters.revocations, 1)
  const revoke = counters.calls.filter((call) => call.route === '/2/auth/token/revoke')
  assert.deepEqual(
    revoke.map((call) => call.status),
    [200],
    'no revoke with the expired token',
  )
  assert.notEqual(revoke[0]?.headers.authorization, `Bearer ${tokens.accessToken}`)
  assert.deepEqual(await refreshAnswer(stack, tokens.refreshToken), {
    status: 400,
    error: 'invalid_grant',
  })
  assert.deepEqual(
    auditEvents(stack, 'revocation_succeeded').map((line) => [
      line.user,
      line.reason,
      line.outcome,
    ]),
    [['user-1', 'disconnected', 'revoked']],
  )
  assert.equal(auditEvents(stack, 'disconnected').length, 1)
})

test('revoke answers 401 expired_access_token: refresh, revoke again with the new token', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  const tokens = await storedTokens(stack, 'user-1')
  // Expired at Dropbox while the stored expiry still looks fresh (clock skew, early expiry).
  stack.emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  stack.emulator.resetCounters()

  await disconnect(stack, 'user-1')
  const revoke = stack.emulator
    .counters()
    .calls.filter((call) => call.route === '/2/auth/token/revoke')
  assert.deepEqual(
    revoke.map((call) => call.status),
    [401, 200],
  )
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 1)
  assert.deepEqual(await refreshAnswer(stack, tokens.refreshToken), {
    status: 400,
    error: 'invalid_grant',
  })
})

test('a fresh token is revoked directly: no refresh', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  const tokens = await storedTokens(stack, 'user-1')
  stack.emulator.resetCounters()
  await disconnect(stack, 'user-1')
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 0)
  assert.equal(stack.emulator.counters().revocations, 1)
  assert.equal((await refreshAnswer(stack, tokens.refreshToken)).error, 'invalid_grant')
})

test('a grant already dead at Dropbox (user unlinked the app): counted as revoked, no loop', async (t) => {
  let now = Date.now()
  const stack = await startStack(t, { deps: { clock: () => now } })
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  stack.emulator.revokeRefreshTokens(ACCOUNT_IDS.alice)
  now += 5 * 3600_000
  stack.emulator.advanceClock(5 * 3600)
  stack.emulator.resetCounters()
  await disconnect(stack, 'user-1')
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 1)
  assert.equal(stack.emulator.counters().revocations, 0)
  assert.deepEqual(
    auditEvents(stack, 'revocation_succeeded').map((line) => line.outcome),
    ['already_dead'],
  )
})

test('reconnect replaces the connection and revokes the old grant, refreshing it first', async (t) => {
  let now = Date.now()
  const stack = await startStack(t, { deps: { clock: () => now } })
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  const old = await storedTokens(stack, 'user-1')
  now += 5 * 3600_000
  stack.emulator.advanceClock(5 * 3600)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.bob)).status, 200)
  assert.deepEqual(await refreshAnswer(stack, old.refreshToken), {
    status: 400,
    error: 'invalid_grant',
  })
  const current = await storedTokens(stack, 'user-1')
  assert.equal((await refreshAnswer(stack, current.refreshToken)).status, 200)
  assert.equal(auditEvents(stack, 'connection_replaced').length, 1)
  assert.deepEqual(
    auditEvents(stack, 'revocation_succeeded').map((line) => line.reason),
    ['replaced'],
  )
})

test('disconnect when the stored tokens do not open: a warning says the grant lives on, the row goes', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  const tokens = await storedTokens(stack, 'user-1')
  stack.emulator.resetCounters()
  // A replica whose VAULT_KEYS lost the key the row is sealed under.
  const lostKey = await buildTestApp(t, {
    config: { ...stack.config, vaultKeys: [{ kid: 'other', secretKey: randomBytes(32) }] },
  })
  const removed = await lostKey.app.inject({
    method: 'DELETE',
    url: '/v1/connection',
    headers: { 'x-identity-assertion': await stack.assertionFor('user-1') },
  })
  assert.equal(removed.statusCode, 204)
  const failed = lostKey.logs
    .parsed()
    .filter((line) => line.audit === true && line.event === 'revocation_failed')
  assert.equal(failed.length, 1)
  assert.equal(failed[0]?.level, 40, 'a warning')
  assert.equal(failed[0]?.user, 'user-1')
  assert.equal(failed[0]?.reason, 'disconnected')
  assert.match(String(failed[0]?.why), /grant stays alive at Dropbox/)
  // What the line says is true: nothing reached Dropbox and the grant still works.
  assert.equal(stack.emulator.counters().revocations, 0)
  assert.equal((await refreshAnswer(stack, tokens.refreshToken)).status, 200)
  const status = await (await stack.api('user-1', 'GET', '/v1/connection')).json()
  assert.deepEqual(status, { provider: 'dropbox', status: 'not_connected' })
})

test('Dropbox down at disconnect: queued, retried after a restart, confirmed', async (t) => {
  const stack = await startStack(t, {
    deps: { revocation: { baseDelayMs: 0, drainIntervalMs: 600_000 } },
  })
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  const tokens = await storedTokens(stack, 'user-1')
  stack.emulator.injectFault('/2/auth/token/revoke', { kind: 'status', status: 503 }, 100)
  await disconnect(stack, 'user-1')
  assert.equal(auditEvents(stack, 'revocation_queued').length, 1)
  assert.equal((await refreshAnswer(stack, tokens.refreshToken)).status, 200, 'still alive')
  await stack.app.close()

  stack.emulator.clearFaults()
  const restarted = await buildTestApp(t, {
    config: stack.config,
    deps: { revocation: { baseDelayMs: 0, drainIntervalMs: 600_000 } },
  })
  await until(() => stack.emulator.counters().revocations === 1, 'the queued revocation')
  assert.deepEqual(await refreshAnswer(stack, tokens.refreshToken), {
    status: 400,
    error: 'invalid_grant',
  })
  await until(
    () => restarted.logs.parsed().some((line) => line.event === 'revocation_succeeded'),
    'the audit line',
  )
})

test('two replicas draining the queue: one revoke per grant', async (t) => {
  const stack = await startStack(t, {
    deps: { revocation: { baseDelayMs: 0, drainIntervalMs: 600_000 } },
  })
  const users = ['u1', 'u2', 'u3', 'u4', 'u5']
  for (const user of users) assert.equal((await stack.connect(user, ACCOUNT_IDS.bob)).status, 200)
  stack.emulator.injectFault('/2/auth/token/revoke', { kind: 'status', status: 503 }, 1000)
  for (const user of users) await disconnect(stack, user)
  assert.equal(auditEvents(stack, 'revocation_queued').length, users.length)
  await stack.app.close()
  stack.emulator.clearFaults()
  stack.emulator.resetCounters()
  const replicas = await Promise.all(
    [1, 2].map(() =>
      buildTestApp(t, {
        config: stack.config,
        deps: { revocation: { baseDelayMs: 0, drainIntervalMs: 20 } },
      }),
    ),
  )
  await until(() => stack.emulator.counters().revocations >= users.length, 'every revocation')
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(stack.emulator.counters().revocations, users.length, 'never twice')
  const succeeded = replicas.flatMap((replica) =>
    replica.logs.parsed().filter((line) => line.event === 'revocation_succeeded'),
  )
  assert.equal(succeeded.length, users.length)
})
