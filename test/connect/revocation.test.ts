/**
 * Contract §7: disconnect and replace revoke the *grant* at Dropbox (the emulator), refreshing
 * first when the access token is stale or refused; every outcome leaves an audit line.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import type { TokenSet } from '../../src/cloud/models.ts'
import { openVault } from '../../src/vault/open-vault.ts'
import { type Stack, startStack } from '../stack.ts'

/** The tokens the connector holds for the user, read through a second vault handle. */
async function storedTokens(stack: Stack, userId: string): Promise<TokenSet> {
  const vault = await openVault({
    databaseUrl: stack.config.databaseUrl,
    databasePath: stack.config.databasePath,
    keys: stack.config.vaultKeys,
  })
  try {
    const connection = await vault.connections.findByUser(userId, 'dropbox')
    assert.ok(connection, 'connected')
    return await vault.connections.openTokens(connection)
  } finally {
    await vault.close()
  }
}

/** What Dropbox's token endpoint says to a refresh with `refreshToken` now. */
async function refreshAnswer(stack: Stack, refreshToken: string) {
  const response = await fetch(`${stack.emulator.url}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('test-app-key:test-app-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  })
  return { status: response.status, error: ((await response.json()) as { error?: string }).error }
}

function auditEvents(stack: Stack, name: string) {
  return stack.logs.parsed().filter((line) => line.audit === true && line.event === name)
}

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
