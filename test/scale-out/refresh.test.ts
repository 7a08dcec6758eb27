/**
 * Refresh is single-flight across replicas (contract §11): three `node src/server.ts` processes on
 * one PostgreSQL database, requests spread round-robin.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { type Cluster, startCluster } from './replicas.ts'

const LEASE_MS = 1500

async function connectedCluster(
  t: Parameters<typeof startCluster>[0],
  env?: Record<string, string>,
  store?: 'postgres' | 'sqlite',
) {
  const cluster = await startCluster(t, { env, store })
  assert.equal((await cluster.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  cluster.emulator.resetCounters()
  return cluster
}

async function me(cluster: Cluster, replica = cluster.next()) {
  const response = await cluster.api(replica, 'user-1', 'GET', '/v1/me')
  return { replica: replica.index, status: response.status, body: await response.json() }
}

async function connectionStatus(cluster: Cluster) {
  const rows = await cluster.sql<Array<{ status: string; version: number }>>`
    select status, version from connections where user_id = 'user-1'`
  return rows[0]
}

test('3 × 50 concurrent calls on an expired token → exactly one token request, all succeed', async (t) => {
  const cluster = await connectedCluster(t)
  // Every replica has served the user once, so each holds the old token in its cache.
  for (const replica of cluster.replicas) assert.equal((await me(cluster, replica)).status, 200)
  cluster.emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  cluster.emulator.resetCounters()

  const results = await Promise.all(Array.from({ length: 150 }, () => me(cluster)))
  const perReplica = [0, 0, 0]
  for (const result of results) {
    assert.equal(result.status, 200, JSON.stringify(result))
    assert.equal((result.body as { account_id: string }).account_id, ACCOUNT_IDS.alice)
    perReplica[result.replica] = (perReplica[result.replica] ?? 0) + 1
  }
  assert.deepEqual(perReplica, [50, 50, 50])
  assert.equal(cluster.emulator.counters().tokenRequests.refresh_token, 1)
  assert.deepEqual(await connectionStatus(cluster), { status: 'connected', version: 2 })
  const [lease] = await cluster.sql`select refresh_lease_holder from connections`
  assert.equal(lease?.refresh_lease_holder, null, 'the lease was given back')
})

test('the same on one SQLite file: 3 processes × 50 calls → exactly one token request', async (t) => {
  const cluster = await connectedCluster(t, undefined, 'sqlite')
  cluster.emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  const results = await Promise.all(Array.from({ length: 150 }, () => me(cluster)))
  for (const result of results) assert.equal(result.status, 200, JSON.stringify(result))
  assert.equal(cluster.emulator.counters().tokenRequests.refresh_token, 1)
})

test('on one SQLite file, a process killed holding the lease is taken over at once', async (t) => {
  // The default 30 s lease: waiting for it to expire would fail the time bound below.
  const cluster = await connectedCluster(t, undefined, 'sqlite')
  cluster.emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  cluster.emulator.injectFault('/oauth2/token', { kind: 'hang' })
  const doomed = cluster.replica(0)
  const pending = me(cluster, doomed).catch((error: Error) => error)
  const sqlite = new Database(cluster.databasePath, { readonly: true })
  t.after(() => sqlite.close())
  const holder = sqlite.prepare('select refresh_lease_holder as holder from connections')
  for (let attempt = 0; attempt < 200; attempt++) {
    if ((holder.get() as { holder: string | null }).holder) break
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  assert.match((holder.get() as { holder: string }).holder, /\//, 'process 0 took the lease')
  await cluster.kill(doomed)
  // The lease is taken before the token request is sent: if the kill came first, the hang
  // would still be queued for the next replica's request.
  cluster.emulator.clearFaults()
  assert.ok((await pending) instanceof Error)

  const started = Date.now()
  const results = await Promise.all(Array.from({ length: 20 }, () => me(cluster)))
  for (const result of results) assert.equal(result.status, 200, JSON.stringify(result))
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`)
  assert.equal(cluster.emulator.counters().tokenRequests.refresh_token, 1)
})

test('a replica SIGKILLed holding the refresh lease: the others refresh after it expires', async (t) => {
  const cluster = await connectedCluster(t, { REFRESH_LEASE_MS: String(LEASE_MS) })
  cluster.emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  // The doomed replica's token request never gets an answer: it dies mid-refresh.
  cluster.emulator.injectFault('/oauth2/token', { kind: 'hang' })
  const doomed = cluster.replica(0)
  const pending = me(cluster, doomed).catch((error: Error) => error)

  let lease: { refresh_lease_holder: string | null; expires_at: Date | null } | undefined
  for (let attempt = 0; attempt < 200 && !lease?.refresh_lease_holder; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    ;[lease] = await cluster.sql<
      Array<{ refresh_lease_holder: string | null; expires_at: Date | null }>
    >`
      select refresh_lease_holder, refresh_lease_expires_at as expires_at from connections`
  }
  assert.ok(lease?.refresh_lease_holder && lease.expires_at, 'replica 0 took the lease')
  await cluster.kill(doomed)
  // The lease is taken before the token request is sent: if the kill came first, the hang
  // would still be queued for the next replica's request.
  cluster.emulator.clearFaults()
  assert.ok((await pending) instanceof Error, 'the killed replica answered nobody')

  const started = Date.now()
  const results = await Promise.all(Array.from({ length: 40 }, () => me(cluster)))
  for (const result of results) {
    assert.notEqual(result.replica, 0)
    assert.equal(result.status, 200, JSON.stringify(result))
  }
  // Nobody refreshed while the dead replica's lease was still valid.
  assert.ok(
    Date.now() >= lease.expires_at.getTime() - 50,
    `done ${lease.expires_at.getTime() - started} ms early`,
  )
  // The hung request was never answered; the survivors made exactly one more.
  assert.equal(cluster.emulator.counters().tokenRequests.refresh_token, 1)
  assert.deepEqual(await connectionStatus(cluster), { status: 'connected', version: 2 })

  // No token lost: the stored refresh token still refreshes, on whichever replica asks.
  cluster.emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  assert.equal((await me(cluster)).status, 200)
  assert.equal(cluster.emulator.counters().tokenRequests.refresh_token, 2)
  assert.deepEqual(await connectionStatus(cluster), { status: 'connected', version: 3 })
})
