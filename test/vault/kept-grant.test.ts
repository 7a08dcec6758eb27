/**
 * A grant kept in its connect session after a transient account read (contract §3.4): sealed in
 * the row, handed to the retry, and never left alive when the session ends. Both dialects.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { GrantedTokens } from '../../src/cloud/protocols.ts'
import type { Vault } from '../../src/vault/vault.ts'
import {
  ManualClock,
  openStoreVault,
  type RawStore,
  startedSession,
  tokenSet,
  vaultKey,
} from './vault-test-kit.ts'

const TEN_MINUTES = 10 * 60_000

function grantFor(label: string): GrantedTokens {
  return {
    ...tokenSet(label),
    scopes: ['account_info.read'],
    tokenType: 'bearer',
    accountId: 'dbid:a',
  }
}

/** A session whose first complete exchanged the code and kept the grant. */
async function keptGrantSession(vault: Vault, clock: ManualClock, label: string) {
  const session = await startedSession(vault.sessions, clock, label)
  await vault.sessions.finishCallback(session.id, {
    status: 'authorized',
    code: `code-${label}`,
    completionHash: 'c0ffee',
  })
  assert.ok(await vault.sessions.claimAuthorization(session.id))
  assert.equal(await vault.sessions.keepGrant(session.id, grantFor(label)), true)
  return session
}

function sessionSecrets(raw: RawStore, id: string) {
  return raw.get(
    'select code is not null as code, code_verifier is not null as verifier, granted_tokens is not null as grant, key_id from connect_sessions where id = ?',
    id,
  )
}

/** The queued entries, opened as a drain would see them. */
async function queued(vault: Vault, clock: ManualClock) {
  const entries = await vault.revocations.claimDue({ now: clock.now(), leaseMs: 1, limit: 10 })
  return entries.map((entry) => [entry.userId, entry.reason, entry.tokens?.refreshToken])
}

test('keepGrant: the retry gets the grant instead of the spent code, sealed meanwhile', async (t) => {
  const clock = new ManualClock()
  const { vault, raw } = await openStoreVault(t, { clock: clock.now })
  const session = await keptGrantSession(vault, clock, 'a')
  const kept = await vault.sessions.findById(session.id)
  assert.equal(kept?.status, 'authorized')
  assert.equal(kept?.completionHash, 'c0ffee', 'the same completion secret works')
  const columns = await sessionSecrets(raw, session.id)
  assert.equal(Number(columns?.code), 0)
  assert.equal(Number(columns?.verifier), 0)
  assert.equal(Number(columns?.grant), 1)
  assert.equal(columns?.key_id, 'test-1')

  assert.deepEqual(await vault.sessions.claimAuthorization(session.id), { grant: grantFor('a') })
  await vault.sessions.settleCompletion(session.id, { status: 'completed' })
  const done = await sessionSecrets(raw, session.id)
  assert.equal(Number(done?.grant), 0)
  assert.equal(done?.key_id, null)
})

test('keepGrant refuses a session that expired or is not being completed', async (t) => {
  const clock = new ManualClock()
  const { vault } = await openStoreVault(t, { clock: clock.now })
  const session = await keptGrantSession(vault, clock, 'a')
  assert.equal(await vault.sessions.keepGrant(session.id, grantFor('a')), false, 'not claimed')
  await vault.sessions.claimAuthorization(session.id)
  clock.advance(TEN_MINUTES)
  assert.equal(await vault.sessions.keepGrant(session.id, grantFor('a')), false, 'expired')
})

test('cancelling a session that keeps a grant queues the grant for revocation', async (t) => {
  const clock = new ManualClock()
  const { vault, raw } = await openStoreVault(t, { clock: clock.now })
  const session = await keptGrantSession(vault, clock, 'a')
  assert.deepEqual(await vault.sessions.cancel(session.id), {
    cancelled: true,
    grant: { userId: 'user-a', outcome: 'queued' },
  })
  const columns = await sessionSecrets(raw, session.id)
  assert.equal(Number(columns?.grant), 0)
  assert.equal(columns?.key_id, null)
  assert.deepEqual(await queued(vault, clock), [['user-a', 'failed_connect', 'refresh-a']])
})

test('purgeExpired queues kept grants; one being completed only after a grace period', async (t) => {
  const clock = new ManualClock()
  const { vault } = await openStoreVault(t, { clock: clock.now })
  const waiting = await keptGrantSession(vault, clock, 'waiting')
  const completing = await keptGrantSession(vault, clock, 'completing')
  await vault.sessions.claimAuthorization(completing.id)
  clock.advance(TEN_MINUTES + 1)

  assert.deepEqual(await vault.sessions.purgeExpired(clock.now()), {
    deleted: 1,
    grants: [{ userId: 'user-waiting', outcome: 'queued' }],
  })
  assert.equal(await vault.sessions.findById(waiting.id), null)
  assert.ok(await vault.sessions.findById(completing.id), 'its completer may still store it')
  assert.deepEqual(await queued(vault, clock), [
    ['user-waiting', 'failed_connect', 'refresh-waiting'],
  ])

  clock.advance(TEN_MINUTES)
  assert.deepEqual(await vault.sessions.purgeExpired(clock.now()), {
    deleted: 1,
    grants: [{ userId: 'user-completing', outcome: 'queued' }],
  })
})

test('a kept grant whose key left the ring is reported lost when its session is purged', async (t) => {
  const clock = new ManualClock()
  const { vault, reopen } = await openStoreVault(t, { keys: [vaultKey('gone')], clock: clock.now })
  await keptGrantSession(vault, clock, 'a')
  await vault.close()
  const replica = await reopen({ keys: [vaultKey('other')] })
  clock.advance(TEN_MINUTES + 1)
  assert.deepEqual(await replica.sessions.purgeExpired(clock.now()), {
    deleted: 1,
    grants: [{ userId: 'user-a', outcome: 'lost' }],
  })
  assert.equal(await replica.revocations.depth(), 0)
})

test('rotation re-seals a kept grant: it still opens once the old key is gone', async (t) => {
  const clock = new ManualClock()
  const [old, fresh] = [vaultKey('old'), vaultKey('new')]
  const { vault, reopen } = await openStoreVault(t, { keys: [old], clock: clock.now })
  const session = await keptGrantSession(vault, clock, 'a')
  await vault.close()
  const rotating = await reopen({ keys: [fresh, old] })
  assert.deepEqual((await rotating.rotate()).tables.connect_sessions, {
    scanned: 1,
    reencrypted: 1,
    alreadyCurrent: 0,
    failed: 0,
  })
  await rotating.close()
  const after = await reopen({ keys: [fresh] })
  assert.deepEqual(await after.sessions.claimAuthorization(session.id), { grant: grantFor('a') })
})
