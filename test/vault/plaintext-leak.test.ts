/**
 * After real vault traffic, the raw bytes on disk (database, WAL, shared memory) must not
 * contain any secret in plaintext, nor the key material (contract §7).
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import sodium from 'libsodium-wrappers'
import { ManualClock, newConnection, openTestVault, vaultKey } from './vault-test-kit.ts'

const TEN_MINUTES = 10 * 60_000

function sentinel(kind: string): string {
  return `${kind}-SENTINEL-${Math.random().toString(36).slice(2, 12)}`
}

function onDisk(path: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) files.set(file, readFileSync(file))
  }
  return files
}

function assertAbsent(files: Map<string, Buffer>, secrets: string[], when: string) {
  for (const [file, bytes] of files) {
    for (const secret of secrets) {
      for (const encoding of ['utf8', 'utf16le'] as const) {
        assert.equal(
          bytes.indexOf(Buffer.from(secret, encoding)),
          -1,
          `${when}: ${file} holds a secret in plaintext (${encoding})`,
        )
      }
    }
  }
}

test('no token, verifier, code, kept grant or key appears in the database, WAL or shared-memory files', async (t) => {
  await sodium.ready
  const clock = new ManualClock()
  const key = vaultKey('leak-check')
  const { vault, path } = await openTestVault(t, { keys: [key], clock: clock.now })
  const secrets: string[] = []
  const remember = (kind: string) => {
    const value = sentinel(kind)
    secrets.push(value)
    return value
  }
  const tokens = (label: string) => ({
    accessToken: remember(`access-${label}`),
    accessTokenExpiresAt: new Date('2026-11-25T14:00:00Z'),
    refreshToken: remember(`refresh-${label}`),
  })

  // Connections: create, refresh, replace, remove.
  // A positive control: a non-secret column stored as plain text, which the scan must find.
  const visible = sentinel('email')
  const { connection } = await vault.connections.replace({
    ...newConnection('user-1', tokens('first')),
    email: visible,
  })
  await vault.connections.updateTokens(connection.id, 1, tokens('refreshed'))
  await vault.connections.replace(newConnection('user-1', tokens('replaced')))
  await vault.connections.replace(newConnection('user-2', tokens('removed')))
  await vault.connections.remove('user-2', 'dropbox')

  // Sessions: one claimed, one left authorized, one cancelled, one denied, one keeping a grant.
  const flows = ['claimed', 'authorized', 'cancelled', 'denied', 'kept']
  for (const label of flows) {
    const session = await vault.sessions.create({
      userId: 'user-1',
      provider: 'dropbox',
      connectTokenHash: `connect-${label}`,
      expiresAt: new Date(clock.now().getTime() + TEN_MINUTES),
    })
    await vault.sessions.start({
      connectTokenHash: `connect-${label}`,
      stateHash: `state-${label}`,
      flowCookieHash: `cookie-${label}`,
      codeVerifier: remember(`verifier-${label}`),
      now: clock.now(),
    })
    if (label === 'denied') {
      await vault.sessions.finishCallback(session.id, { status: 'denied' })
      continue
    }
    const code = remember(`code-${label}`)
    await vault.sessions.finishCallback(session.id, {
      status: 'authorized',
      code,
      completionHash: 'c0ffee',
    })
    if (label === 'claimed') {
      await vault.sessions.claimAuthorization(session.id)
      await vault.sessions.settleCompletion(session.id, { status: 'completed' })
    }
    if (label === 'cancelled') await vault.sessions.cancel(session.id)
    if (label === 'kept') {
      await vault.sessions.claimAuthorization(session.id)
      const grant = { ...tokens('kept'), scopes: [], tokenType: 'bearer', accountId: 'dbid:kept' }
      assert.equal(await vault.sessions.keepGrant(session.id, grant), true)
    }
  }

  const keyMaterial = [key.secretKey, sodium.crypto_scalarmult_base(key.secretKey)]
  const encodedKeys = keyMaterial.flatMap((bytes) => [
    Buffer.from(bytes).toString('base64'),
    Buffer.from(bytes).toString('hex'),
  ])

  const whileOpen = onDisk(path)
  const wal = whileOpen.get(`${path}-wal`)
  assert.ok(wal && wal.length > 0, 'the WAL holds the writes, so it is part of what is scanned')
  assert.notEqual(wal.indexOf(Buffer.from(visible)), -1, 'the scan finds plain text in the WAL')
  assertAbsent(whileOpen, [...secrets, ...encodedKeys], 'while open')
  for (const [file, bytes] of whileOpen) {
    for (const raw of keyMaterial) {
      assert.equal(bytes.indexOf(Buffer.from(raw)), -1, `${file} holds raw key bytes`)
    }
  }

  await vault.close()
  assertAbsent(onDisk(path), [...secrets, ...encodedKeys], 'after close')
})
