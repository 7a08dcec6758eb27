import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { CloudAuth } from '../../src/cloud/protocols.ts'
import { parseVaultKeys } from '../../src/config.ts'
import { Revoker } from '../../src/connect/revocation.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import { defaultKid } from '../../src/vault/cli.ts'
import { openVault } from '../../src/vault/open-vault.ts'
import {
  ManualClock,
  newConnection,
  openStoreVault,
  startedSession,
  tempDir,
  tokenSet,
  vaultKey,
  vaultKeysEnv,
} from './vault-test-kit.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const execFileAsync = promisify(execFile)

/** Runs the real CLI the way `npm run vault:*` does; never throws on a non-zero exit. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const base = { PATH: process.env.PATH ?? '', ...env }
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['src/vault/cli.ts', ...args],
      { cwd: ROOT, env: base, timeout: 30_000 },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

/** How the CLI finds a test store: DATABASE_URL on PostgreSQL, else DATABASE_PATH. */
function storeEnv(store: {
  databaseUrl: string | undefined
  databasePath: string
}): Record<string, string> {
  return store.databaseUrl
    ? { DATABASE_URL: store.databaseUrl }
    : { DATABASE_PATH: store.databasePath }
}

test('keygen prints one VAULT_KEYS entry and says where it goes', async () => {
  const { code, stdout, stderr } = await cli(['keygen'])
  assert.equal(code, 0)
  assert.match(stdout, /^v\d{8}a:[A-Za-z0-9+/]{43}=\n$/)
  const { keys, problems } = parseVaultKeys(stdout.trim())
  assert.deepEqual(problems, [])
  assert.equal(keys[0]?.secretKey.length, 32)
  assert.match(stderr, /put it FIRST in VAULT_KEYS/)
  assert.match(stderr, /npm run vault:rotate/)
  assert.equal(defaultKid(new Date('2026-11-25T23:00:00Z')), 'v20261125a')

  const named = await cli(['keygen', 'prod-2027.1'])
  assert.match(named.stdout, /^prod-2027\.1:/)
  const twice = await cli(['keygen'])
  assert.notEqual(twice.stdout, stdout, 'every key is fresh')

  const bad = await cli(['keygen', 'no spaces'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /the key id must be 1-64 characters/)
  assert.equal(bad.stdout, '')
})

test('rotate refuses to run without keys, on a missing database, or with a bad command', async (t) => {
  const dir = await tempDir(t)
  const missingKeys = await cli(['rotate'], { DATABASE_PATH: join(dir, 'x.db') })
  assert.equal(missingKeys.code, 2)
  assert.match(missingKeys.stderr, /VAULT_KEYS has no key/)

  const env = { VAULT_KEYS: vaultKeysEnv([vaultKey('a')]), DATABASE_PATH: join(dir, 'typo.db') }
  const missingDb = await cli(['rotate'], env)
  assert.equal(missingDb.code, 2)
  assert.match(missingDb.stderr, /there is no database at ".*typo\.db"/)

  const unknown = await cli(['rotate-all'], env)
  assert.equal(unknown.code, 2)
  assert.match(unknown.stderr, /unknown command "rotate-all"\nusage:/)
})

test('rotate re-seals everything online, after which the old key can go', async (t) => {
  const clock = new ManualClock()
  const keyA = vaultKey('a')
  const keyB = vaultKey('b')
  const CONNECTIONS = 60

  // Everything under key A: connections and sessions in every state that can hold secrets.
  const {
    vault: before,
    store,
    raw,
    reopen,
  } = await openStoreVault(t, { keys: [keyA], clock: clock.now })
  for (let index = 0; index < CONNECTIONS; index++) {
    await before.connections.replace(newConnection(`user-${index}`))
  }
  await before.sessions.create({
    userId: 'u',
    provider: 'dropbox',
    connectTokenHash: 'connect-created',
    expiresAt: new Date(clock.now().getTime() + 60_000),
  })
  const started = await startedSession(before.sessions, clock, 'started')
  const authorized = await startedSession(before.sessions, clock, 'authorized')
  await before.sessions.finishCallback(authorized.id, {
    status: 'authorized',
    code: 'code-x',
    completionHash: 'c0ffee',
  })
  const denied = await startedSession(before.sessions, clock, 'denied')
  await before.sessions.finishCallback(denied.id, { status: 'denied' })
  await before.close()

  // A replica already on "b,a" keeps writing while the CLI rotates.
  const live = await reopen({ keys: [keyB, keyA] })
  const { connection: liveConnection } = await live.connections.replace(newConnection('live'))
  let liveVersion = liveConnection.version
  const rotation = cli(['rotate', '--batch-size', '25'], {
    VAULT_KEYS: vaultKeysEnv([keyB, keyA]),
    ...storeEnv(store),
  })
  let running = true
  void rotation.finally(() => {
    running = false
  })
  let liveWrites = 0
  while (running) {
    const updated = await live.connections.updateTokens(
      liveConnection.id,
      liveVersion,
      tokenSet(`live-${liveWrites}`),
    )
    assert.ok(updated)
    liveVersion = updated.version
    liveWrites++
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  const first = await rotation
  assert.equal(first.code, 0, first.stderr)
  assert.deepEqual(JSON.parse(first.stdout), {
    activeKeyId: 'b',
    scanned: CONNECTIONS + 1 + 4,
    reencrypted: CONNECTIONS + 2,
    alreadyCurrent: 1 + 2,
    failed: 0,
    tables: {
      connections: {
        scanned: CONNECTIONS + 1,
        reencrypted: CONNECTIONS,
        alreadyCurrent: 1,
        failed: 0,
      },
      connect_sessions: { scanned: 4, reencrypted: 2, alreadyCurrent: 2, failed: 0 },
      revocations: { scanned: 0, reencrypted: 0, alreadyCurrent: 0, failed: 0 },
    },
  })
  assert.ok(liveWrites > 0)
  await live.close()

  const keyIds = await raw.all(
    'select key_id from connections union select key_id from connect_sessions',
  )
  assert.deepEqual(new Set(keyIds.map((row) => row.key_id)), new Set(['b', null]))

  // Key A removed: everything still opens.
  const after = await reopen({ keys: [keyB] })
  for (let index = 0; index < CONNECTIONS; index++) {
    const connection = await after.connections.findByUser(`user-${index}`, 'dropbox')
    assert.ok(connection)
    assert.deepEqual(await after.connections.openTokens(connection), tokenSet(`user-${index}`))
  }
  const live2 = await after.connections.findByUser('live', 'dropbox')
  assert.ok(live2)
  assert.deepEqual(await after.connections.openTokens(live2), tokenSet(`live-${liveWrites - 1}`))
  assert.deepEqual(await after.sessions.claimAuthorization(authorized.id), {
    code: 'code-x',
    codeVerifier: 'verifier-authorized',
  })
  await after.sessions.finishCallback(started.id, {
    status: 'authorized',
    code: 'code-y',
    completionHash: 'c0ffee',
  })
  assert.deepEqual(await after.sessions.claimAuthorization(started.id), {
    code: 'code-y',
    codeVerifier: 'verifier-started',
  })

  const second = await cli(['rotate'], { VAULT_KEYS: vaultKeysEnv([keyB]), ...storeEnv(store) })
  assert.equal(second.code, 0, second.stderr)
  const report = JSON.parse(second.stdout)
  assert.equal(report.reencrypted, 0)
  assert.equal(report.alreadyCurrent, report.scanned)
})

test('rotate re-seals queued revocations: with the old key gone, the drain still revokes', async (t) => {
  const clock = new ManualClock()
  const keyA = vaultKey('a')
  const keyB = vaultKey('b')
  const {
    vault: before,
    store,
    raw,
    reopen,
  } = await openStoreVault(t, {
    keys: [keyA],
    clock: clock.now,
  })
  await before.revocations.enqueue({
    userId: 'user-1',
    provider: 'dropbox',
    reason: 'disconnected',
    tokens: tokenSet('queued'),
    dueAt: clock.now(),
  })
  await before.close()

  const result = await cli(['rotate'], {
    VAULT_KEYS: vaultKeysEnv([keyB, keyA]),
    ...storeEnv(store),
  })
  assert.equal(result.code, 0, result.stderr)
  assert.deepEqual(JSON.parse(result.stdout).tables.revocations, {
    scanned: 1,
    reencrypted: 1,
    alreadyCurrent: 0,
    failed: 0,
  })
  assert.deepEqual(await raw.all('select key_id from revocations'), [{ key_id: 'b' }])

  const after = await reopen({ keys: [keyB] })
  const revoked: string[] = []
  const auth = {
    revoke: async (accessToken: string) => {
      revoked.push(accessToken)
      return 'revoked' as const
    },
  } as unknown as CloudAuth
  const metrics = { countRevocation() {}, setRevocationQueueDepth() {} } as unknown as Metrics
  const revoker = new Revoker({
    auth,
    queue: after.revocations,
    audit: () => {},
    metrics,
    clock: () => clock.now().getTime(),
  })
  assert.equal(await revoker.drain(), 1)
  assert.deepEqual(revoked, [tokenSet('queued').accessToken])
  assert.equal(await after.revocations.depth(), 0)
})

test('rotate reports rows it cannot open, exits 1, and prints no secret', async (t) => {
  const keyB = vaultKey('b')
  const lost = vaultKey('lost')

  const { vault: writer, store, reopen } = await openStoreVault(t, { keys: [keyB] })
  await writer.connections.replace(newConnection('fine', tokenSet('fine-secret')))
  await writer.close()
  const stray = await reopen({ keys: [lost] })
  const { connection } = await stray.connections.replace(
    newConnection('stray', tokenSet('stray-secret')),
  )
  await stray.close()

  const result = await cli(['rotate'], { VAULT_KEYS: vaultKeysEnv([keyB]), ...storeEnv(store) })
  assert.equal(result.code, 1)
  const report = JSON.parse(result.stdout)
  assert.equal(report.failed, 1)
  assert.equal(report.alreadyCurrent, 1)
  assert.equal(
    result.stderr,
    `failed: connections ${connection.id}: Cannot open the access_token of row ${connection.id}: key id "lost" is not in VAULT_KEYS (was it removed before rotation finished?)\n`,
  )
  const output = result.stdout + result.stderr
  for (const secret of [
    'fine-secret',
    'stray-secret',
    ...[keyB, lost].map((key) => Buffer.from(key.secretKey).toString('base64')),
  ]) {
    assert.ok(!output.includes(secret))
  }
})

test('backup copies a live database, recent WAL commits included, and the copy opens', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'connector.db')
  const keys = [vaultKey('a')]
  const live = await openVault({ databasePath: path, keys })
  t.after(() => live.close())
  await live.connections.replace(newConnection('user-1'))

  const destination = join(dir, 'backup.db')
  const result = await cli(['backup', destination], { DATABASE_PATH: path })
  assert.equal(result.code, 0, result.stderr)
  assert.equal(JSON.parse(result.stdout).destination, destination)
  assert.equal(statSync(destination).mode & 0o777, 0o600, 'the backup is readable by others')
  assert.equal((await cli(['backup', destination], { DATABASE_PATH: path })).code, 2)

  const restored = await openVault({ databasePath: destination, keys })
  t.after(() => restored.close())
  const connection = await restored.connections.findByUser('user-1', 'dropbox')
  assert.ok(connection)
  assert.deepEqual(await restored.connections.openTokens(connection), tokenSet('user-1'))
})
