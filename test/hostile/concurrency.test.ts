/**
 * Concurrency (issue 10): many users connect, refresh, reconnect and disconnect at once, through
 * two connector processes sharing one SQLite file (as during a rolling deploy or a key rotation
 * run beside the service), so writers really contend for the database lock. No request may fail
 * with SQLITE_BUSY (or any 5xx), every user ends with at most one connection, and every
 * `/v1/me` answers the caller's own account.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { freePort } from '../process.ts'
import { Browser, completionOf } from '../stack.ts'
import {
  type ConnectorProcess,
  connectionRows,
  createWorld,
  integrityCheck,
  randomInt,
  seedAccounts,
  startConnector,
  sweepLogs,
  worldSecrets,
} from './support.ts'

const USERS = 40
const REPLICAS = 2
/** Per user: connect, calls, then reconnect (replace), disconnect or nothing; repeated. */
const ROUNDS_PER_USER = 5
const CALLS_PER_ROUND = 6
/**
 * Access tokens live 300 s at the emulator: the connector's proactive margin (contract §7), so every
 * call refreshes first, and refreshes of one connection race on both replicas. Expiring tokens
 * at the emulator instead would make a freshly refreshed token fail its one retry, which is a
 * correct 409 `reconnect_required`, and no real Dropbox does that to a token a second old.
 */
const ACCESS_TOKEN_TTL_S = 300

interface Replica {
  process: ConnectorProcess
  baseUrl: string
}

test(`${USERS} users connect, refresh and disconnect at once over ${REPLICAS} replicas of one SQLite file`, async (t) => {
  const world = await createWorld(t, { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S })
  const primary = seedAccounts(world.emulator, 'conc', USERS)
  const secondary = seedAccounts(world.emulator, 'conc-alt', USERS)
  const replicas: Replica[] = [{ process: await startConnector(t, world), baseUrl: world.baseUrl }]
  for (let i = 1; i < REPLICAS; i++) {
    const port = await freePort()
    // The browser steps use the first replica's public URL, as behind one load balancer.
    replicas.push({
      process: await startConnector(t, world, { PORT: String(port) }),
      baseUrl: `http://127.0.0.1:${port}`,
    })
  }
  const pick = () => replicas[randomInt(0, REPLICAS - 1)] as Replica
  const failures: string[] = []
  const tally = new Map<string, number>()
  const count = (key: string) => tally.set(key, (tally.get(key) ?? 0) + 1)

  async function call(
    user: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Response> {
    const replica = pick()
    const response = await fetch(`${replica.process.internalUrl}${path}`, {
      method,
      headers: {
        'x-identity-assertion': await world.assertion(user),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    count(`${method} ${path.split('/').slice(0, 4).join('/')} ${response.status}`)
    if (response.status >= 500)
      failures.push(`${method} ${path} → ${response.status} ${await response.clone().text()}`)
    return response
  }

  async function connect(user: string, accountId: string): Promise<boolean> {
    const created = await call(user, 'POST', '/v1/connect/sessions')
    if (created.status !== 201) return false
    const session = (await created.json()) as { id: string; connect_url: string }
    const browser = new Browser()
    const toDropbox = await browser.get(session.connect_url)
    const back = await world.emulator.consent(toDropbox.headers.get('location') as string, {
      accountId,
      decision: 'allow',
    })
    const toMainApp = await browser.get(back)
    assert.equal(toMainApp.status, 303)
    const complete = await call(user, 'POST', `/v1/connect/sessions/${session.id}/complete`, {
      completion: completionOf(toMainApp),
    })
    if (complete.status !== 200) failures.push(`complete for ${user} → ${complete.status}`)
    return complete.status === 200
  }

  async function userStory(index: number): Promise<string | null> {
    const user = `conc-user-${index}`
    const own = new Set([primary[index], secondary[index]])
    let connectedTo: string | null = null
    for (let round = 0; round < ROUNDS_PER_USER; round++) {
      if (connectedTo === null) {
        const account = (round % 2 === 0 ? primary : secondary)[index] as string
        if (await connect(user, account)) connectedTo = account
      }
      const calls = await Promise.all(
        Array.from({ length: CALLS_PER_ROUND }, () => call(user, 'GET', '/v1/me')),
      )
      for (const response of calls) {
        if (response.status !== 200) {
          failures.push(`${user} /v1/me → ${response.status} ${await response.text()}`)
          continue
        }
        const account = ((await response.json()) as { account_id: string }).account_id
        if (!own.has(account)) failures.push(`${user} saw ${account}`)
        else if (account !== connectedTo)
          failures.push(`${user} saw ${account}, not ${connectedTo}`)
      }
      const action = (index + round) % 3
      if (action === 0) {
        // Reconnect to the other account while connected: replace and revoke.
        const other = (connectedTo === primary[index] ? secondary : primary)[index] as string
        if (await connect(user, other)) connectedTo = other
      } else if (action === 1) {
        assert.equal((await call(user, 'DELETE', '/v1/connection')).status, 204)
        const after = await call(user, 'GET', '/v1/me')
        if (after.status !== 409) failures.push(`${user} after disconnect → ${after.status}`)
        connectedTo = null
      }
    }
    // Two connect flows of one user finishing at once: still exactly one connection.
    const [first, second] = await Promise.all([
      connect(user, primary[index] as string),
      connect(user, secondary[index] as string),
    ])
    if (!first && !second) return connectedTo
    const me = await call(user, 'GET', '/v1/me')
    return ((await me.json()) as { account_id: string }).account_id
  }

  const startedAt = performance.now()
  const finalAccounts = await Promise.all(Array.from({ length: USERS }, (_, i) => userStory(i)))
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1)
  assert.deepEqual(failures, [])

  // One connection per user, each answering with the account that won the last connect.
  const rows = connectionRows(world.databasePath)
  assert.equal(new Set(rows.map((row) => row.user_id)).size, rows.length, 'a user has two rows')
  assert.equal(rows.length, USERS)
  assert.ok(rows.every((row) => row.status === 'connected'))
  for (const [index, account] of finalAccounts.entries()) {
    for (const replica of replicas) {
      const response = await fetch(`${replica.process.internalUrl}/v1/me`, {
        headers: { 'x-identity-assertion': await world.assertion(`conc-user-${index}`) },
      })
      assert.equal(response.status, 200)
      assert.equal(((await response.json()) as { account_id: string }).account_id, account)
    }
  }
  const logs = replicas.flatMap((replica) => replica.process.logLines())
  const busy = logs.filter((line) => /SQLITE_BUSY|database is locked/i.test(line))
  assert.deepEqual(busy, [], 'SQLITE_BUSY reached a log line')
  for (const replica of replicas) {
    replica.process.child.kill('SIGTERM')
    assert.deepEqual(await replica.process.exited, { code: 0, signal: null })
  }
  assert.equal(integrityCheck(world.databasePath), 'ok')

  const counters = world.emulator.counters()
  const secrets = worldSecrets(world)
  sweepLogs(secrets, 'replica logs', logs)
  const requests = [...tally.values()].reduce((sum, n) => sum + n, 0)
  t.diagnostic(
    `concurrency: ${USERS} users × ${ROUNDS_PER_USER} rounds on ${REPLICAS} replicas in ${seconds} s: ${requests} requests, ${counters.tokenRequests.authorization_code} connects, ${counters.tokenRequests.refresh_token} refreshes, ${counters.revocations} revocations, 0 SQLITE_BUSY, 0 5xx, one connection per user`,
  )
})
