/**
 * The connect flow and disconnect across replicas (contract §11): any replica serves any step, the
 * single-use connect token and `state` stay single-use across replicas, and no replica's cache
 * outlives a disconnect or a reconnect made on another.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { Browser } from '../stack.ts'
import { startCluster } from './replicas.ts'

const ROUNDS = 5

/** The single-use secret the callback hands only to the consenting browser (contract §3.3). */
function completionIn(redirect: Response): string {
  const completion = new URL(redirect.headers.get('location') as string).searchParams.get(
    'completion',
  )
  assert.ok(completion, 'the return URL carries the completion secret')
  return completion
}

test('the connect flow with each step on a different replica', async (t) => {
  const cluster = await startCluster(t)
  const [r0, r1, r2] = [cluster.replica(0), cluster.replica(1), cluster.replica(2)]
  const created = await cluster.api(r0, 'user-1', 'POST', '/v1/connect/sessions')
  assert.equal(created.status, 201)
  const session = (await created.json()) as { id: string; connect_url: string }
  assert.ok(session.connect_url.startsWith('http://connector.test/connect?'))

  const browser = new Browser()
  const toDropbox = await browser.get(r1.route(session.connect_url))
  assert.equal(toDropbox.status, 302)
  const back = await cluster.emulator.consent(toDropbox.headers.get('location') as string, {
    accountId: ACCOUNT_IDS.bob,
    decision: 'allow',
  })
  assert.ok(back.startsWith('http://connector.test/connect/callback?'))
  const toMainApp = await browser.get(r2.route(back))
  assert.equal(toMainApp.status, 303)

  const completed = await cluster.api(
    r0,
    'user-1',
    'POST',
    `/v1/connect/sessions/${session.id}/complete`,
    { completion: completionIn(toMainApp) },
  )
  assert.equal(completed.status, 200)
  for (const replica of cluster.replicas) {
    const status = await cluster.api(replica, 'user-1', 'GET', '/v1/connection')
    assert.equal(status.status, 200)
    assert.equal(((await status.json()) as { status: string }).status, 'connected')
    const me = await cluster.api(replica, 'user-1', 'GET', '/v1/me')
    assert.equal(((await me.json()) as { account_id: string }).account_id, ACCOUNT_IDS.bob)
  }
  assert.equal(cluster.emulator.counters().tokenRequests.authorization_code, 1)
})

test('connect token and state are single use across replicas: of two racing replicas one wins', async (t) => {
  const cluster = await startCluster(t)
  const [r0, r1, r2] = [cluster.replica(0), cluster.replica(1), cluster.replica(2)]
  for (let round = 0; round < ROUNDS; round++) {
    const created = await cluster.api(r0, `user-${round}`, 'POST', '/v1/connect/sessions')
    const session = (await created.json()) as { id: string; connect_url: string }

    // The same link opened twice at once, on two replicas.
    const [first, second] = [new Browser(), new Browser()]
    const opened = await Promise.all([
      first.get(r1.route(session.connect_url)),
      second.get(r2.route(session.connect_url)),
    ])
    assert.deepEqual(
      opened.map((r) => r.status).sort(),
      [302, 400],
      `round ${round}: connect token`,
    )
    const winner = opened[0]?.status === 302 ? first : second
    const toDropbox = opened.find((r) => r.status === 302)?.headers.get('location') as string

    // The same callback (same browser, same cookie) delivered twice at once, on two replicas.
    const back = await cluster.emulator.consent(toDropbox, {
      accountId: ACCOUNT_IDS.alice,
      decision: 'allow',
    })
    const callbacks = await Promise.all([winner.get(r2.route(back)), winner.get(r0.route(back))])
    assert.deepEqual(callbacks.map((r) => r.status).sort(), [303, 400], `round ${round}: state`)
    const completion = completionIn(callbacks.find((r) => r.status === 303) as Response)

    const completions = await Promise.all(
      [r1, r2].map((replica) =>
        cluster.api(
          replica,
          `user-${round}`,
          'POST',
          `/v1/connect/sessions/${session.id}/complete`,
          { completion },
        ),
      ),
    )
    assert.deepEqual(
      completions.map((r) => r.status).sort(),
      [200, 409],
      `round ${round}: complete`,
    )
  }
  assert.equal(cluster.emulator.counters().tokenRequests.authorization_code, ROUNDS)
})

test('disconnect on one replica is seen by the others on their next call; so is a reconnect', async (t) => {
  const cluster = await startCluster(t)
  const [r0, r1, r2] = [cluster.replica(0), cluster.replica(1), cluster.replica(2)]
  assert.equal((await cluster.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  // Every replica has the token opened and cached.
  for (const replica of cluster.replicas) {
    assert.equal((await cluster.api(replica, 'user-1', 'GET', '/v1/me')).status, 200)
  }

  assert.equal((await cluster.api(r0, 'user-1', 'DELETE', '/v1/connection')).status, 204)
  for (const replica of [r1, r2]) {
    const me = await cluster.api(replica, 'user-1', 'GET', '/v1/me')
    assert.equal(me.status, 409)
    assert.equal(((await me.json()) as { code: string }).code, 'not_connected')
  }

  // Reconnect with another account on one replica: the others serve the new token at once.
  assert.equal((await cluster.connect('user-1', ACCOUNT_IDS.bob)).status, 200)
  for (const replica of cluster.replicas) {
    const me = await cluster.api(replica, 'user-1', 'GET', '/v1/me')
    assert.equal(me.status, 200)
    assert.equal(((await me.json()) as { account_id: string }).account_id, ACCOUNT_IDS.bob)
  }
  // The deleted connection's token was revoked upstream: a replica using a cached copy of it
  // would have met a 401.
  const calls = cluster.emulator
    .counters()
    .calls.filter((call) => call.route === '/2/users/get_current_account')
  assert.ok(
    calls.every((call) => call.status === 200),
    JSON.stringify(calls.map((c) => c.status)),
  )
})
