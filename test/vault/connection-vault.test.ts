/** The `ConnectionVault` port; on PostgreSQL too with `TEST_DATABASE=postgres`. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import { test } from 'node:test'
import { accountIdFor } from '../../emulator/index.ts'
import { ServiceError } from '../../src/errors.ts'
import { VaultError } from '../../src/vault/vault-error.ts'
import { ManualClock, newConnection, openStoreVault, tokenSet, vaultKey } from './vault-test-kit.ts'

test('replace stores a connection whose metadata carries no token', async (t) => {
  const clock = new ManualClock()
  const { vault } = await openStoreVault(t, { clock: clock.now })
  const { connection, previousTokens } = await vault.connections.replace(newConnection('user-1'))
  assert.equal(previousTokens, null)
  assert.deepEqual(connection, {
    id: connection.id,
    userId: 'user-1',
    provider: 'dropbox',
    accountId: accountIdFor('user-1'),
    email: 'user-1@example.test',
    scopes: ['account_info.read', 'files.metadata.read'],
    tokenType: 'bearer',
    rootInfo: { type: 'user', rootNamespaceId: '100', homeNamespaceId: '100', homePath: null },
    status: 'connected',
    reconnectReason: null,
    version: 1,
    connectedAt: clock.now(),
    updatedAt: clock.now(),
  })
  assert.match(connection.id, /^[0-9a-f-]{36}$/)
  assert.deepEqual(await vault.connections.findByUser('user-1', 'dropbox'), connection)
  assert.equal(await vault.connections.findByUser('user-2', 'dropbox'), null)
  assert.deepEqual(await vault.connections.openTokens(connection), tokenSet('user-1'))
})

test('replace keeps one connection per user and hands back the previous tokens', async (t) => {
  const { vault, raw } = await openStoreVault(t)
  const first = await vault.connections.replace(newConnection('user-1', tokenSet('old')))
  const other = await vault.connections.replace(newConnection('user-2'))
  const second = await vault.connections.replace(newConnection('user-1', tokenSet('new')))

  assert.notEqual(second.connection.id, first.connection.id)
  assert.deepEqual(second.previousTokens, tokenSet('old'))
  assert.deepEqual(await vault.connections.findByUser('user-1', 'dropbox'), second.connection)
  assert.deepEqual(await vault.connections.openTokens(second.connection), tokenSet('new'))
  assert.deepEqual(await vault.connections.findByUser('user-2', 'dropbox'), other.connection)
  const rows = await raw.all('select user_id from connections order by user_id')
  assert.deepEqual(rows, [{ user_id: 'user-1' }, { user_id: 'user-2' }])
})

test('replace still replaces when the previous tokens no longer open', async (t) => {
  const { vault, raw } = await openStoreVault(t)
  await vault.connections.replace(newConnection('user-1', tokenSet('old')))
  await raw.run("update connections set key_id = 'gone'")
  const { connection, previousTokens } = await vault.connections.replace(newConnection('user-1'))
  assert.equal(previousTokens, null)
  assert.deepEqual(await vault.connections.openTokens(connection), tokenSet('user-1'))
})

test('updateTokens is a compare-and-swap on version', async (t) => {
  const clock = new ManualClock()
  const { vault } = await openStoreVault(t, { clock: clock.now })
  const { connection } = await vault.connections.replace(newConnection('user-1', tokenSet('v1')))
  clock.advance(60_000)

  const updated = await vault.connections.updateTokens(connection.id, 1, tokenSet('v2'))
  assert.ok(updated)
  assert.equal(updated.version, 2)
  assert.deepEqual(updated.updatedAt, clock.now())
  assert.deepEqual(updated.connectedAt, connection.connectedAt)
  assert.deepEqual(await vault.connections.openTokens(updated), tokenSet('v2'))

  // A second refresher that read version 1 loses and changes nothing.
  assert.equal(await vault.connections.updateTokens(connection.id, 1, tokenSet('lost')), null)
  assert.deepEqual(await vault.connections.openTokens(updated), tokenSet('v2'))
  assert.equal(await vault.connections.updateTokens('no-such-id', 1, tokenSet('x')), null)
})

test('markReconnectRequired is a compare-and-swap and makes stale refreshes lose', async (t) => {
  const { vault } = await openStoreVault(t)
  const { connection } = await vault.connections.replace(newConnection('user-1'))
  assert.equal(
    await vault.connections.markReconnectRequired(connection.id, 7, { reason: 'revoked' }),
    null,
  )

  const marked = await vault.connections.markReconnectRequired(connection.id, 1, {
    reason: 'revoked',
  })
  assert.equal(marked?.status, 'reconnect_required')
  assert.equal(marked?.version, 2)
  assert.equal(await vault.connections.updateTokens(connection.id, 1, tokenSet('late')), null)
  assert.equal(
    (await vault.connections.findByUser('user-1', 'dropbox'))?.status,
    'reconnect_required',
  )
})

test('updateRootInfo changes the root without moving the version', async (t) => {
  const { vault } = await openStoreVault(t)
  const { connection } = await vault.connections.replace(newConnection('user-1'))
  const rootInfo = {
    type: 'team' as const,
    rootNamespaceId: '200',
    homeNamespaceId: '201',
    homePath: '/Alice',
  }
  const updated = await vault.connections.updateRootInfo(connection.id, rootInfo)
  assert.deepEqual(updated?.rootInfo, rootInfo)
  assert.equal(updated?.version, 1)
  assert.ok(await vault.connections.updateTokens(connection.id, 1, tokenSet('after-root')))
  assert.equal(await vault.connections.updateRootInfo('no-such-id', rootInfo), null)
})

test('remove deletes the connection and returns its tokens for revocation', async (t) => {
  const { vault, raw } = await openStoreVault(t)
  const { connection } = await vault.connections.replace(newConnection('user-1'))
  const removed = await vault.connections.remove('user-1', 'dropbox')
  assert.deepEqual(removed, { connection, tokens: tokenSet('user-1') })
  assert.equal(await vault.connections.findByUser('user-1', 'dropbox'), null)
  assert.equal(await vault.connections.remove('user-1', 'dropbox'), null)
  assert.deepEqual(await raw.get('select cast(count(*) as integer) as n from connections'), {
    n: 0,
  })
  await assert.rejects(vault.connections.openTokens(connection), (error: unknown) => {
    assert.ok(error instanceof ServiceError)
    assert.equal(error.code, 'not_connected')
    return true
  })
})

test("a token copied into another user's row, or into another column, is refused", async (t) => {
  const { vault, raw } = await openStoreVault(t)
  const alice = (await vault.connections.replace(newConnection('alice'))).connection
  const mallory = (await vault.connections.replace(newConnection('mallory'))).connection

  await raw.run(
    'update connections set access_token = (select access_token from connections where id = ?), refresh_token = (select refresh_token from connections where id = ?) where id = ?',
    alice.id,
    alice.id,
    mallory.id,
  )
  await assert.rejects(vault.connections.openTokens(mallory), (error: unknown) => {
    assert.ok(error instanceof VaultError)
    assert.equal(error.reason, 'binding_mismatch')
    assert.equal(
      error.message,
      `Refusing the access_token of row ${mallory.id}: it was sealed for another rowId, userId`,
    )
    return true
  })

  await raw.run('update connections set access_token = refresh_token where id = ?', alice.id)
  await assert.rejects(vault.connections.openTokens(alice), /sealed for another purpose/)
})

test('openTokens serves repeat reads from the cache and never a stale version', async (t) => {
  const { vault, raw } = await openStoreVault(t, { tokenCacheSize: 10 })
  const { connection } = await vault.connections.replace(newConnection('user-1', tokenSet('v1')))
  assert.deepEqual(await vault.connections.openTokens(connection), tokenSet('v1'))

  // Proof that the second read skips the row: break the row underneath.
  const saved = (await raw.get('select access_token from connections')) as {
    access_token: string
  }
  await raw.run("update connections set access_token = 'AAAA'")
  const cached = await vault.connections.openTokens(connection)
  assert.deepEqual(cached, tokenSet('v1'))
  cached.accessToken = 'mutated by a caller'
  assert.deepEqual(await vault.connections.openTokens(connection), tokenSet('v1'))
  await raw.run('update connections set access_token = ?', saved.access_token)

  const updated = await vault.connections.updateTokens(connection.id, 1, tokenSet('v2'))
  assert.ok(updated)
  assert.deepEqual(await vault.connections.openTokens(updated), tokenSet('v2'))
  // A caller still holding version 1 gets the row's current tokens, not the cached old ones.
  assert.deepEqual(await vault.connections.openTokens(connection), tokenSet('v2'))
})

test('with the cache off, every openTokens reads and checks the row', async (t) => {
  const { vault, raw } = await openStoreVault(t, { tokenCacheSize: 0 })
  const { connection } = await vault.connections.replace(newConnection('user-1'))
  await vault.connections.openTokens(connection)
  await raw.run("update connections set access_token = 'AAAA'")
  await assert.rejects(vault.connections.openTokens(connection), /too short/)
})

test('connections written under an older key still open after a new key goes first', async (t) => {
  const { vault, keys, reopen } = await openStoreVault(t)
  const { connection } = await vault.connections.replace(newConnection('user-1'))
  await vault.close()
  const rotated = await reopen({ keys: [vaultKey('test-2'), ...keys] })
  assert.deepEqual(await rotated.connections.openTokens(connection), tokenSet('user-1'))
  const updated = await rotated.connections.updateTokens(connection.id, 1, tokenSet('new'))
  assert.ok(updated)
  assert.deepEqual(await rotated.connections.openTokens(updated), tokenSet('new'))
})

test('the refresh lease: one holder at a time, free again on release or expiry, never a version', async (t) => {
  const { vault, reopen } = await openStoreVault(t)
  const other = await reopen()
  const { connection } = await vault.connections.replace(newConnection('user-1'))
  const leases = vault.refreshLeases
  const first = await leases.tryAcquire(connection.id, 60_000)
  assert.match(first ?? '', new RegExp(`^[^/]+/${process.pid}/[0-9a-f]{8}/[0-9a-f-]{36}$`))
  assert.equal(await leases.tryAcquire(connection.id, 60_000), null)
  assert.equal(await other.refreshLeases.tryAcquire(connection.id, 60_000), null)
  await leases.release(connection.id, 'not-the-holder')
  assert.equal(await leases.tryAcquire(connection.id, 60_000), null, 'only the holder releases')
  await leases.release(connection.id, first ?? '')
  assert.ok(await other.refreshLeases.tryAcquire(connection.id, 100))

  await new Promise((resolve) => setTimeout(resolve, 150))
  assert.ok(await leases.tryAcquire(connection.id, 60_000), 'an expired lease is free')
  assert.equal(await leases.tryAcquire('no-such-id', 60_000), null)
  const current = await vault.connections.findByUser('user-1', 'dropbox')
  assert.equal(current?.version, 1)
  assert.deepEqual(current?.updatedAt, connection.updatedAt)
})

test('racing lease takers on separate connections: exactly one wins', async (t) => {
  const { vault, reopen } = await openStoreVault(t)
  const vaults = [vault, await reopen(), await reopen()]
  const { connection } = await vault.connections.replace(newConnection('user-1'))
  for (let round = 0; round < 10; round++) {
    const taken = await Promise.all(
      vaults.flatMap((v) => [0, 1].map(() => v.refreshLeases.tryAcquire(connection.id, 60_000))),
    )
    const winners = taken.filter((lease) => lease !== null)
    assert.equal(winners.length, 1, `round ${round}`)
    await vault.refreshLeases.release(connection.id, winners[0] ?? '')
  }
})

test('a lease whose holder process is dead: SQLite takes it over at once, PostgreSQL waits', async (t) => {
  const { vault, raw, store } = await openStoreVault(t)
  const { connection } = await vault.connections.replace(newConnection('user-1'))
  const dead = spawnSync(process.execPath, ['-e', 'process.pid'])
  assert.ok(dead.pid)
  const holder = `${hostname().replaceAll('/', '_')}/${dead.pid}/00000000/leftover`
  await raw.run(
    'update connections set refresh_lease_holder = ?, refresh_lease_expires_at = ? where id = ?',
    holder,
    store.databaseUrl ? new Date(Date.now() + 60_000) : Date.now() + 60_000,
    connection.id,
  )
  const taken = await vault.refreshLeases.tryAcquire(connection.id, 60_000)
  if (store.databaseUrl) assert.equal(taken, null, 'replicas elsewhere cannot be probed')
  else assert.ok(taken, 'a dead local holder is taken over')
})
