/**
 * The opened-token cache never outlives the token it holds (contract §7, issue 9): a disconnected,
 * refreshed, reconnected, reconnect-required or re-keyed connection is never answered from it.
 * Each test proves a miss the same way: the row is broken underneath, so only a cache hit
 * could still answer. On PostgreSQL too with `TEST_DATABASE=postgres`.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TokenCache } from '../../src/vault/token-cache.ts'
import {
  newConnection,
  openStoreVault,
  type RawStore,
  tokenSet,
  vaultKey,
} from './vault-test-kit.ts'

const CACHED = { tokenCacheSize: 10 }

/** After this, opening the row fails: an answer can only come from the cache. */
async function breakRow(raw: RawStore) {
  await raw.run("update connections set access_token = 'AAAA'")
}

const notConnected = (error: unknown) => (error as { code?: string }).code === 'not_connected'

test('a disconnected connection is never served from the cache', async (t) => {
  const { vault } = await openStoreVault(t, CACHED)
  const { connection } = await vault.connections.replace(newConnection('user-1'))
  assert.deepEqual(await vault.connections.openTokens(connection), tokenSet('user-1'))
  await vault.connections.remove('user-1', 'dropbox')
  await assert.rejects(vault.connections.openTokens(connection), notConnected)
  assert.equal(await vault.connections.findByUser('user-1', 'dropbox'), null)
})

test('a reconnect never serves the previous connection’s tokens', async (t) => {
  const { vault } = await openStoreVault(t, CACHED)
  const first = await vault.connections.replace(newConnection('user-1', tokenSet('old')))
  await vault.connections.openTokens(first.connection)
  const second = await vault.connections.replace(newConnection('user-1', tokenSet('new')))
  await assert.rejects(vault.connections.openTokens(first.connection), notConnected)
  assert.deepEqual(await vault.connections.openTokens(second.connection), tokenSet('new'))
})

test('a refreshed token replaces the cached one, also for a holder of the old version', async (t) => {
  const { vault, raw } = await openStoreVault(t, CACHED)
  const { connection } = await vault.connections.replace(newConnection('user-1', tokenSet('v1')))
  await vault.connections.openTokens(connection)
  const refreshed = await vault.connections.updateTokens(connection.id, 1, tokenSet('v2'))
  assert.ok(refreshed)
  assert.deepEqual(await vault.connections.openTokens(connection), tokenSet('v2'))
  assert.deepEqual(await vault.connections.openTokens(refreshed), tokenSet('v2'))
  // The refresh token is rotated with the set: the old one is gone from the cache as well.
  await breakRow(raw)
  const again = await vault.connections.openTokens(refreshed)
  assert.notEqual(again.refreshToken, tokenSet('v1').refreshToken)
})

test('reconnect_required evicts the cached tokens', async (t) => {
  const { vault, raw } = await openStoreVault(t, CACHED)
  const { connection } = await vault.connections.replace(newConnection('user-1'))
  await vault.connections.openTokens(connection)
  assert.ok(await vault.connections.markReconnectRequired(connection.id, 1, { reason: 'revoked' }))
  await breakRow(raw)
  await assert.rejects(vault.connections.openTokens(connection))
})

test('a key rotation empties the cache', async (t) => {
  const { vault, keys, raw, reopen } = await openStoreVault(t, CACHED)
  const { connection } = await vault.connections.replace(newConnection('user-1'))
  await vault.close()
  const rotated = await reopen({ ...CACHED, keys: [vaultKey('test-2'), ...keys] })
  assert.deepEqual(await rotated.connections.openTokens(connection), tokenSet('user-1'))
  await rotated.rotate()
  const current = await rotated.connections.findByUser('user-1', 'dropbox')
  assert.ok(current)
  await breakRow(raw)
  await assert.rejects(rotated.connections.openTokens(current))
})

test('another replica’s refresh or disconnect is seen on the next request', async (t) => {
  const { vault, reopen } = await openStoreVault(t, CACHED)
  const replica = await reopen(CACHED)
  const { connection } = await vault.connections.replace(newConnection('user-1', tokenSet('v1')))
  await vault.connections.openTokens(connection)
  // Each request reads the row first (findByUser); the cache is keyed by its id and version.
  assert.ok(await replica.connections.updateTokens(connection.id, 1, tokenSet('v2')))
  const seen = await vault.connections.findByUser('user-1', 'dropbox')
  assert.ok(seen)
  assert.deepEqual(await vault.connections.openTokens(seen), tokenSet('v2'))
  await replica.connections.remove('user-1', 'dropbox')
  assert.equal(await vault.connections.findByUser('user-1', 'dropbox'), null)
})

test('TokenCache: keyed by id and version, bounded, least recently used out first', () => {
  const cache = new TokenCache(2)
  cache.set('a', 1, tokenSet('a1'))
  assert.deepEqual(cache.get('a', 1), tokenSet('a1'))
  assert.equal(cache.get('a', 2), undefined)
  cache.set('b', 1, tokenSet('b1'))
  cache.get('a', 1) // a is now the most recent
  cache.set('c', 1, tokenSet('c1')) // evicts b
  assert.equal(cache.size, 2)
  assert.equal(cache.get('b', 1), undefined)
  assert.deepEqual(cache.get('a', 1), tokenSet('a1'))
  cache.evict('a')
  assert.equal(cache.get('a', 1), undefined)
  const off = new TokenCache(0)
  off.set('a', 1, tokenSet('a1'))
  assert.equal(off.get('a', 1), undefined)
})
