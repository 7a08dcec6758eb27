/**
 * The refresh lease protocol of `TokenRefresher` in one process, with two refreshers on two
 * vault handles playing two replicas, and a scripted provider: the timings a real cluster hits
 * only by bad luck (a holder slower than its lease, a refresh refused after another replica
 * already won). On the SQLite file, or with `TEST_DATABASE=postgres` on PostgreSQL.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ReconnectRequiredError } from '../../src/cloud/errors.ts'
import type { CloudAuth, RefreshedTokens } from '../../src/cloud/protocols.ts'
import { TokenRefresher } from '../../src/cloud/token-refresher.ts'
import { createMetrics } from '../../src/observability/metrics.ts'
import type { Vault } from '../../src/vault/vault.ts'
import { newConnection, openStoreVault, tokenSet } from '../vault/vault-test-kit.ts'

const NOW = Date.parse('2026-11-25T10:00:00Z')
const EXPIRED = new Date(NOW - 1000)
const metrics = createMetrics()

/** A provider whose every refresh answers as the test scripts it, counting calls. */
function scriptedAuth(answer: (call: number) => Promise<RefreshedTokens>) {
  let calls = 0
  const auth = {
    refresh: () => answer(++calls),
  } as unknown as CloudAuth
  return { auth, calls: () => calls }
}

function fresh(label: string): RefreshedTokens {
  return {
    accessToken: label,
    accessTokenExpiresAt: new Date(NOW + 4 * 3600_000),
    refreshToken: null,
  }
}

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Waits until the slow holder is inside its provider call (so it holds the lease), then past
 * the lease: a fixed sleep from the start lost the race on a loaded machine, where taking the
 * lease alone can take longer than the lease.
 */
async function pastTheLeaseOf(holder: { calls: () => number }, leaseMs: number) {
  const deadline = Date.now() + 10_000
  while (holder.calls() === 0) {
    if (Date.now() > deadline) assert.fail('the first replica never reached its refresh')
    await later(5)
  }
  await later(leaseMs + 100)
}

function refresher(vault: Vault, auth: CloudAuth, leaseMs: number) {
  return new TokenRefresher({
    vault: vault.connections,
    auth,
    metrics,
    clock: () => NOW,
    leases: vault.refreshLeases,
    leaseMs,
  })
}

async function twoReplicas(t: Parameters<typeof openStoreVault>[0]) {
  const { vault: one, reopen } = await openStoreVault(t)
  const two = await reopen()
  const { connection } = await one.connections.replace(
    newConnection('user-1', tokenSet('old', EXPIRED)),
  )
  return { one, two, connection }
}

test('a holder slower than its lease loses the compare-and-swap and returns the winner token', async (t) => {
  const { one, two, connection } = await twoReplicas(t)
  const slow = scriptedAuth(async () => {
    await later(1_500)
    return fresh('from-the-slow-one')
  })
  const quick = scriptedAuth(async () => fresh('from-the-quick-one'))
  const first = refresher(one, slow.auth, 150).refreshSingleFlight(connection)
  await pastTheLeaseOf(slow, 150)
  // The first lease has expired: the second replica may refresh and commits first.
  const second = await refresher(two, quick.auth, 150).refreshSingleFlight(connection)
  assert.equal(second, 'from-the-quick-one')
  assert.equal(await first, 'from-the-quick-one')
  const stored = await one.connections.findByUser('user-1', 'dropbox')
  assert.equal(stored?.version, 2)
  assert.equal(stored?.status, 'connected')
})

test('invalid_grant after another replica already refreshed does not mark reconnect_required', async (t) => {
  const { one, two, connection } = await twoReplicas(t)
  // A provider that rotates refresh tokens: the old one is refused once the new one exists.
  const slow = scriptedAuth(async () => {
    await later(1_500)
    throw new ReconnectRequiredError()
  })
  const quick = scriptedAuth(async () => ({ ...fresh('rotated'), refreshToken: 'refresh-2' }))
  const first = refresher(one, slow.auth, 150).refreshSingleFlight(connection)
  await pastTheLeaseOf(slow, 150)
  assert.equal(await refresher(two, quick.auth, 150).refreshSingleFlight(connection), 'rotated')
  assert.equal(await first, 'rotated')
  const stored = await one.connections.findByUser('user-1', 'dropbox')
  assert.equal(stored?.status, 'connected')
  assert.ok(stored)
  assert.equal((await one.connections.openTokens(stored)).refreshToken, 'refresh-2')
})

test('a genuine invalid_grant still marks the connection reconnect_required', async (t) => {
  const { one, connection } = await twoReplicas(t)
  const refused = scriptedAuth(async () => {
    throw new ReconnectRequiredError()
  })
  await assert.rejects(
    refresher(one, refused.auth, 1000).refreshSingleFlight(connection),
    ReconnectRequiredError,
  )
  assert.equal(
    (await one.connections.findByUser('user-1', 'dropbox'))?.status,
    'reconnect_required',
  )
  assert.ok(await one.refreshLeases.tryAcquire(connection.id, 1000), 'the lease was given back')
})

test('a lease nobody gives back blocks refresh until it expires, then one refresh runs', async (t) => {
  const { one, two, connection } = await twoReplicas(t)
  // Held by this (live) process, so no shortcut applies: only the expiry frees it.
  assert.ok(await one.refreshLeases.tryAcquire(connection.id, 300))
  const provider = scriptedAuth(async () => fresh('after-expiry'))
  const started = performance.now()
  const results = await Promise.all([
    refresher(one, provider.auth, 1000).refreshSingleFlight(connection),
    refresher(two, provider.auth, 1000).refreshSingleFlight(connection),
  ])
  assert.deepEqual(results, ['after-expiry', 'after-expiry'])
  assert.ok(performance.now() - started >= 250, 'nobody refreshed under the dead lease')
  assert.equal(provider.calls(), 1)
})
