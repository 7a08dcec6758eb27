/**
 * Crash during refresh (issue 10, contract §7, attack 31): SIGKILL the connector process at random
 * moments while token refreshes are in flight, round after round. After every kill the
 * database passes `PRAGMA integrity_check` and still holds one connected row per user; after
 * every restart every connection is usable (the old or the new token set, refreshed again if
 * needed) and none has turned `reconnect_required` without cause.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  connectionRows,
  connectUser,
  createWorld,
  integrityCheck,
  randomInt,
  seedAccounts,
  sleep,
  startConnector,
  sweepLogs,
  worldSecrets,
} from './support.ts'

const ROUNDS = 24
const USERS = 6
/** Parallel `/v1/me` calls per user in each round's burst. */
const CALLS_PER_USER = 4
/** Dropbox holds refresh answers this long (random per call), widening the in-flight window. */
const REFRESH_DELAY_MS = [50, 250] as const
/** The kill lands this long (random) after the first refresh request reached Dropbox. */
const KILL_AFTER_MS = [0, 150] as const

test(`SIGKILL during refreshes, ${ROUNDS} rounds: intact database, every connection usable`, async (t) => {
  const world = await createWorld(t)
  const accounts = seedAccounts(world.emulator, 'crash', USERS)
  const users = accounts.map((_, i) => `crash-user-${i}`)
  const outputs: string[][] = []

  let connector = await startConnector(t, world)
  for (const [i, user] of users.entries()) {
    assert.equal((await connectUser(world, user, accounts[i] as string)).status, 200)
  }

  let refreshesBeforeKill = 0
  let killsWithRefreshPending = 0
  for (let round = 1; round <= ROUNDS; round++) {
    const context = `round ${round}`
    // Every access token is dead at Dropbox: each user's next call refreshes (reactively).
    world.emulator.expireAccessTokens()
    for (let i = 0; i < USERS * CALLS_PER_USER; i++) {
      const ms = randomInt(...REFRESH_DELAY_MS)
      world.emulator.injectFault('/oauth2/token', { kind: 'delay', ms }, 1)
    }
    const before = world.emulator.counters().tokenRequests.refresh_token
    const burst = users.flatMap((user) =>
      Array.from({ length: CALLS_PER_USER }, () =>
        world.api(user, 'GET', '/v1/me').then(
          (response) => response.status,
          () => 0,
        ),
      ),
    )
    for (let waited = 0; world.emulator.counters().tokenRequests.refresh_token === before; ) {
      assert.ok(waited < 10_000, `${context}: no refresh reached Dropbox`)
      await sleep(2)
      waited += 2
    }
    const killAfter = randomInt(...KILL_AFTER_MS)
    await sleep(killAfter)
    const sentAtKill = world.emulator.counters().tokenRequests.refresh_token - before
    connector.child.kill('SIGKILL')
    const exit = await connector.exited
    assert.equal(exit.signal, 'SIGKILL', `${context}: the connector died on its own`)
    outputs.push(connector.logLines())
    const statuses = await Promise.all(burst)
    refreshesBeforeKill += sentAtKill
    if (statuses.some((status) => status === 0)) killsWithRefreshPending++
    for (const status of statuses) {
      assert.ok(status === 0 || status === 200, `${context}: a call answered ${status}`)
    }

    assert.equal(integrityCheck(world.databasePath), 'ok', context)
    assert.deepEqual(
      connectionRows(world.databasePath).map((row) => `${row.user_id}:${row.status}`),
      users.map((user) => `${user}:connected`).sort(),
      `${context}: a connection was lost or marked reconnect_required`,
    )

    world.emulator.clearFaults()
    connector = await startConnector(t, world)
    for (const [i, user] of users.entries()) {
      const me = await world.api(user, 'GET', '/v1/me')
      assert.equal(me.status, 200, `${context}: ${user} after restart: ${await me.clone().text()}`)
      const body = (await me.json()) as { account_id: string }
      assert.equal(body.account_id, accounts[i], `${context}: ${user} sees another account`)
      const status = (await (await world.api(user, 'GET', '/v1/connection')).json()) as {
        status: string
      }
      assert.equal(status.status, 'connected', `${context}: ${user}`)
    }
  }
  outputs.push(connector.logLines())
  connector.child.kill('SIGTERM')
  assert.deepEqual(await connector.exited, { code: 0, signal: null })
  assert.equal(integrityCheck(world.databasePath), 'ok')

  const counters = world.emulator.counters()
  const secrets = worldSecrets(world)
  sweepLogs(secrets, 'connector log', outputs.flat())
  assert.ok(
    killsWithRefreshPending >= ROUNDS / 2,
    `only ${killsWithRefreshPending} of ${ROUNDS} kills cut calls in flight`,
  )
  t.diagnostic(
    `crash: ${ROUNDS} SIGKILLs (${killsWithRefreshPending} with calls in flight), ${USERS} users, ${refreshesBeforeKill} refresh requests sent before the kills, ${counters.tokenRequests.refresh_token} refreshes in all, integrity_check ok every round`,
  )
})
