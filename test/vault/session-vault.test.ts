/** The `ConnectSessionVault` port; on PostgreSQL too with `TEST_DATABASE=postgres`. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Worker } from 'node:worker_threads'
import type { ConnectSessionVault } from '../../src/vault/ports.ts'
import { VaultError } from '../../src/vault/vault-error.ts'
import { ManualClock, openStoreVault, type RawStore, vaultKey } from './vault-test-kit.ts'

const TEN_MINUTES = 10 * 60_000

function secretColumns(raw: RawStore, id: string) {
  return raw.get(
    'select case when code_verifier is null then 0 else 1 end as verifier, case when code is null then 0 else 1 end as code, key_id from connect_sessions where id = ?',
    id,
  )
}

async function createSession(
  sessions: ConnectSessionVault,
  clock: ManualClock,
  label: string,
  userId = 'user-1',
) {
  return sessions.create({
    userId,
    provider: 'dropbox',
    connectTokenHash: `connect-${label}`,
    expiresAt: new Date(clock.now().getTime() + TEN_MINUTES),
  })
}

async function startSession(
  sessions: ConnectSessionVault,
  clock: ManualClock,
  label: string,
  userId = 'user-1',
) {
  const created = await createSession(sessions, clock, label, userId)
  const started = await sessions.start({
    connectTokenHash: `connect-${label}`,
    stateHash: `state-${label}`,
    flowCookieHash: `cookie-${label}`,
    codeVerifier: `verifier-${label}`,
    now: clock.now(),
  })
  assert.equal(started?.status, 'started')
  return created
}

test('create stores a created session that findById returns', async (t) => {
  const clock = new ManualClock()
  const { vault } = await openStoreVault(t, { clock: clock.now })
  const session = await createSession(vault.sessions, clock, 'a')
  assert.deepEqual(session, {
    id: session.id,
    userId: 'user-1',
    provider: 'dropbox',
    status: 'created',
    errorCode: null,
    completionHash: null,
    expiresAt: new Date(clock.now().getTime() + TEN_MINUTES),
    createdAt: clock.now(),
  })
  assert.deepEqual(await vault.sessions.findById(session.id), session)
  assert.equal(await vault.sessions.findById('no-such-id'), null)
})

test('start consumes the connect token once, and only before expiry', async (t) => {
  const clock = new ManualClock()
  const { vault, raw } = await openStoreVault(t, { clock: clock.now })
  const session = await createSession(vault.sessions, clock, 'a')
  const input = {
    connectTokenHash: 'connect-a',
    stateHash: 'state-a',
    flowCookieHash: 'cookie-a',
    codeVerifier: 'verifier-a',
    now: clock.now(),
  }
  assert.equal(await vault.sessions.start({ ...input, connectTokenHash: 'unknown' }), null)
  assert.deepEqual(await vault.sessions.start(input), { ...session, status: 'started' })
  assert.equal(await vault.sessions.start({ ...input, stateHash: 'state-again' }), null)
  assert.deepEqual(await secretColumns(raw, session.id), {
    verifier: 1,
    code: 0,
    key_id: 'test-1',
  })

  await createSession(vault.sessions, clock, 'late')
  const expiry = new Date(clock.now().getTime() + TEN_MINUTES)
  const late = { ...input, connectTokenHash: 'connect-late', stateHash: 'state-late' }
  assert.equal(await vault.sessions.start({ ...late, now: expiry }), null)
  assert.ok(await vault.sessions.start({ ...late, now: new Date(expiry.getTime() - 1) }))
})

test('findStartedByState finds a started, unexpired session and its flow-cookie hash', async (t) => {
  const clock = new ManualClock()
  const { vault } = await openStoreVault(t, { clock: clock.now })
  const session = await startSession(vault.sessions, clock, 'a')
  assert.deepEqual(await vault.sessions.findStartedByState('state-a', clock.now()), {
    ...session,
    status: 'started',
    flowCookieHash: 'cookie-a',
  })
  assert.equal(await vault.sessions.findStartedByState('state-b', clock.now()), null)
  assert.equal(await vault.sessions.findStartedByState('state-a', session.expiresAt), null)
  await vault.sessions.finishCallback(session.id, { status: 'denied' })
  assert.equal(await vault.sessions.findStartedByState('state-a', clock.now()), null)
})

test('finishCallback moves a started session once: authorized, denied or failed', async (t) => {
  const clock = new ManualClock()
  const { vault, raw } = await openStoreVault(t, { clock: clock.now })

  const authorized = await startSession(vault.sessions, clock, 'a')
  const outcome = { status: 'authorized', code: 'code-a', completionHash: 'c0ffee' } as const
  assert.equal((await vault.sessions.finishCallback(authorized.id, outcome))?.status, 'authorized')
  assert.equal(await vault.sessions.finishCallback(authorized.id, outcome), null, 'state replay')
  assert.deepEqual(await secretColumns(raw, authorized.id), {
    verifier: 1,
    code: 1,
    key_id: 'test-1',
  })

  const denied = await startSession(vault.sessions, clock, 'b')
  const deniedResult = await vault.sessions.finishCallback(denied.id, { status: 'denied' })
  assert.deepEqual(deniedResult, { ...denied, status: 'denied' })
  assert.deepEqual(await secretColumns(raw, denied.id), { verifier: 0, code: 0, key_id: null })

  const failed = await startSession(vault.sessions, clock, 'c')
  const failure = { status: 'failed', errorCode: 'server_error' } as const
  assert.deepEqual(await vault.sessions.finishCallback(failed.id, failure), {
    ...failed,
    status: 'failed',
    errorCode: 'server_error',
  })

  const notStarted = await createSession(vault.sessions, clock, 'd')
  assert.equal(await vault.sessions.finishCallback(notStarted.id, outcome), null)
  assert.equal(await vault.sessions.finishCallback('no-such-id', outcome), null)

  const expired = await startSession(vault.sessions, clock, 'e')
  clock.advance(TEN_MINUTES)
  assert.equal(await vault.sessions.finishCallback(expired.id, outcome), null)
})

test('claimAuthorization hands out code and verifier once; settling erases them', async (t) => {
  const clock = new ManualClock()
  const { vault, raw } = await openStoreVault(t, { clock: clock.now })
  const session = await startSession(vault.sessions, clock, 'a')
  assert.equal(await vault.sessions.claimAuthorization(session.id), null, 'not authorized yet')
  await vault.sessions.finishCallback(session.id, {
    status: 'authorized',
    code: 'code-a',
    completionHash: 'c0ffee',
  })

  assert.deepEqual(await vault.sessions.claimAuthorization(session.id), {
    code: 'code-a',
    codeVerifier: 'verifier-a',
  })
  assert.equal(await vault.sessions.claimAuthorization(session.id), null, 'second complete')
  assert.equal((await vault.sessions.findById(session.id))?.status, 'completing')
  // A transient failure gives it back, completable with the same secrets (contract §3.4).
  await vault.sessions.settleCompletion(session.id, { status: 'authorized' })
  assert.equal((await vault.sessions.findById(session.id))?.completionHash, 'c0ffee')
  assert.deepEqual(await vault.sessions.claimAuthorization(session.id), {
    code: 'code-a',
    codeVerifier: 'verifier-a',
  })
  await vault.sessions.settleCompletion(session.id, { status: 'completed' })
  assert.equal((await vault.sessions.findById(session.id))?.status, 'completed')
  assert.deepEqual(await secretColumns(raw, session.id), {
    verifier: 0,
    code: 0,
    key_id: null,
  })
  assert.equal(await vault.sessions.claimAuthorization('no-such-id'), null)
})

test('claimAuthorization refuses an expired session and keeps it as it was', async (t) => {
  const clock = new ManualClock()
  const { vault } = await openStoreVault(t, { clock: clock.now })
  const session = await startSession(vault.sessions, clock, 'a')
  await vault.sessions.finishCallback(session.id, {
    status: 'authorized',
    code: 'code-a',
    completionHash: 'c0ffee',
  })
  clock.advance(TEN_MINUTES)
  assert.equal(await vault.sessions.claimAuthorization(session.id), null)
  assert.equal((await vault.sessions.findById(session.id))?.status, 'authorized')
})

test('a code or verifier copied from another session is refused and the session stays', async (t) => {
  const clock = new ManualClock()
  const { vault, raw } = await openStoreVault(t, { clock: clock.now })
  const victim = await startSession(vault.sessions, clock, 'victim', 'victim')
  await vault.sessions.finishCallback(victim.id, {
    status: 'authorized',
    code: 'victim-code',
    completionHash: 'c0ffee',
  })
  const attacker = await startSession(vault.sessions, clock, 'attacker', 'attacker')
  await vault.sessions.finishCallback(attacker.id, {
    status: 'authorized',
    code: 'attacker-code',
    completionHash: 'c0ffee',
  })

  await raw.run(
    'update connect_sessions set code = (select code from connect_sessions where id = ?) where id = ?',
    victim.id,
    attacker.id,
  )
  await assert.rejects(vault.sessions.claimAuthorization(attacker.id), (error: unknown) => {
    assert.ok(error instanceof VaultError)
    assert.equal(error.reason, 'binding_mismatch')
    return true
  })
  assert.equal((await vault.sessions.findById(attacker.id))?.status, 'authorized')
})

test('cancel erases the secrets; a completed session stays completed', async (t) => {
  const clock = new ManualClock()
  const { vault, raw } = await openStoreVault(t, { clock: clock.now })
  const session = await startSession(vault.sessions, clock, 'a')
  await vault.sessions.finishCallback(session.id, {
    status: 'authorized',
    code: 'code-a',
    completionHash: 'c0ffee',
  })
  assert.equal((await vault.sessions.cancel(session.id)).cancelled, true)
  assert.equal((await vault.sessions.findById(session.id))?.status, 'cancelled')
  assert.equal((await vault.sessions.cancel(session.id)).cancelled, false, 'already cancelled')
  assert.deepEqual(await secretColumns(raw, session.id), { verifier: 0, code: 0, key_id: null })
  assert.equal(await vault.sessions.claimAuthorization(session.id), null)

  const completed = await startSession(vault.sessions, clock, 'b')
  await vault.sessions.finishCallback(completed.id, {
    status: 'authorized',
    code: 'code-b',
    completionHash: 'c0ffee',
  })
  await vault.sessions.claimAuthorization(completed.id)
  assert.equal((await vault.sessions.cancel(completed.id)).cancelled, false, 'being completed')
  await vault.sessions.settleCompletion(completed.id, { status: 'completed' })
  assert.equal((await vault.sessions.cancel(completed.id)).cancelled, false)
  assert.equal((await vault.sessions.findById(completed.id))?.status, 'completed')
  await vault.sessions.cancel('no-such-id')
})

test('purgeExpired deletes only the sessions that expired before now', async (t) => {
  const clock = new ManualClock()
  const { vault } = await openStoreVault(t, { clock: clock.now })
  const early = await createSession(vault.sessions, clock, 'early')
  clock.advance(5 * 60_000)
  const late = await startSession(vault.sessions, clock, 'late')

  assert.deepEqual(await vault.sessions.purgeExpired(early.expiresAt), { deleted: 0, grants: [] })
  assert.equal(
    (await vault.sessions.purgeExpired(new Date(early.expiresAt.getTime() + 1))).deleted,
    1,
  )
  assert.equal(await vault.sessions.findById(early.id), null)
  assert.ok(await vault.sessions.findById(late.id))
  assert.equal(
    (await vault.sessions.purgeExpired(new Date(late.expiresAt.getTime() + 1))).deleted,
    1,
  )
})

test('a code stored after a key change re-seals the verifier, so the row has one key', async (t) => {
  const clock = new ManualClock()
  const { vault, keys, raw, reopen } = await openStoreVault(t, { clock: clock.now })
  const session = await startSession(vault.sessions, clock, 'a')
  await vault.close()

  const newKey = vaultKey('test-2')
  const both = await reopen({ keys: [newKey, ...keys] })
  await both.sessions.finishCallback(session.id, {
    status: 'authorized',
    code: 'code-a',
    completionHash: 'c0ffee',
  })
  assert.deepEqual(await secretColumns(raw, session.id), {
    verifier: 1,
    code: 1,
    key_id: 'test-2',
  })
  await both.close()

  const onlyNew = await reopen({ keys: [newKey] })
  assert.deepEqual(await onlyNew.sessions.claimAuthorization(session.id), {
    code: 'code-a',
    codeVerifier: 'verifier-a',
  })
})

test('concurrent starts from separate connections: exactly one wins each session', async (t) => {
  const clock = new ManualClock()
  const { vault, keys, raw, store } = await openStoreVault(t, { clock: clock.now })
  const hashes: string[] = []
  for (let index = 0; index < 40; index++) {
    await createSession(vault.sessions, clock, `race-${index}`)
    hashes.push(`connect-race-${index}`)
  }
  const workerCount = 6
  const barrier = new SharedArrayBuffer(8)
  const gate = new Int32Array(barrier)
  const results = Array.from({ length: workerCount }, () => {
    const worker = new Worker(new URL('./fixtures/start-racer.ts', import.meta.url), {
      workerData: { store, keys, connectTokenHashes: hashes, barrier, now: clock.now().getTime() },
    })
    return new Promise<string[]>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    })
  })
  while (Atomics.load(gate, 0) < workerCount) await new Promise((resolve) => setTimeout(resolve, 5))
  Atomics.store(gate, 1, 1)
  Atomics.notify(gate, 1)

  const wins = (await Promise.all(results)).flat()
  assert.deepEqual(wins.toSorted(), hashes.toSorted())
  assert.deepEqual(
    await raw.get(
      "select cast(count(*) as integer) as n from connect_sessions where status = 'started'",
    ),
    { n: hashes.length },
  )
})
