/**
 * Graceful shutdown under load (issue 10, contract §9): SIGTERM while calls and a token refresh
 * are in flight. In-flight requests finish with their real answers, requests arriving on open
 * connections get 503 `shutting_down` with `Connection: close`, readiness is 503, new
 * connections are refused, the process exits 0, and a restart finds every connection intact.
 */
import assert from 'node:assert/strict'
import { connect as connectSocket, type Socket } from 'node:net'
import { test } from 'node:test'
import {
  connectionRows,
  connectUser,
  createWorld,
  integrityCheck,
  type RawResponse,
  seedAccounts,
  sleep,
  startConnector,
  sweepLogs,
  worldSecrets,
} from './support.ts'

const USERS = 6
/** Calls in flight at SIGTERM, spread over the users. */
const IN_FLIGHT = 30
/** How long Dropbox holds each in-flight call (and the refresh): the drain must outlast it. */
const UPSTREAM_DELAY_MS = 1_500
/** Connections opened before SIGTERM whose request is finished only during the drain. */
const PARKED = { readyz: 2, api: 2 }

/** A socket that has sent part of a request's head: busy to the server, finished on demand. */
class ParkedRequest {
  readonly #socket: Socket
  readonly #answer: Promise<RawResponse>

  constructor(port: number, head: string) {
    this.#socket = connectSocket(port, '127.0.0.1')
    const chunks: Buffer[] = []
    this.#socket.on('data', (chunk) => chunks.push(chunk))
    this.#answer = new Promise((resolve, reject) => {
      this.#socket.on('error', reject)
      this.#socket.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const split = text.indexOf('\r\n\r\n')
        const [statusLine, ...lines] = text.slice(0, split).split('\r\n')
        const headers = Object.fromEntries(
          lines.map((line) => [
            line.slice(0, line.indexOf(':')).toLowerCase(),
            line.slice(line.indexOf(':') + 1).trim(),
          ]),
        )
        resolve({ status: Number(statusLine?.split(' ')[1]), headers, body: text.slice(split + 4) })
      })
    })
    this.#socket.write(head)
  }

  finish(): Promise<RawResponse> {
    this.#socket.write('\r\n')
    return this.#answer
  }
}

test('SIGTERM under load: in-flight finish, new requests refused cleanly, 503 ready, exit 0, nothing lost', async (t) => {
  const world = await createWorld(t)
  const accounts = seedAccounts(world.emulator, 'drain', USERS)
  const users = accounts.map((_, i) => `drain-user-${i}`)
  const connector = await startConnector(t, world)
  for (const [i, user] of users.entries()) {
    assert.equal((await connectUser(world, user, accounts[i] as string)).status, 200)
  }

  const parked: Array<{ kind: 'readyz' | 'api'; request: ParkedRequest }> = []
  for (let i = 0; i < PARKED.readyz; i++) {
    parked.push({
      kind: 'readyz',
      request: new ParkedRequest(world.port, 'GET /readyz HTTP/1.1\r\nHost: connector\r\n'),
    })
  }
  for (let i = 0; i < PARKED.api; i++) {
    const assertion = await world.assertion(users[i] as string)
    parked.push({
      kind: 'api',
      request: new ParkedRequest(
        world.internalPort,
        `GET /v1/me HTTP/1.1\r\nHost: connector\r\nX-Identity-Assertion: ${assertion}\r\n`,
      ),
    })
  }

  // Every call Dropbox receives now is held; user 0's token is expired, so one refresh is too.
  world.emulator.resetCounters()
  world.emulator.expireAccessTokens(accounts[0])
  world.emulator.injectFault('/oauth2/token', { kind: 'delay', ms: UPSTREAM_DELAY_MS }, 1)
  world.emulator.injectFault(
    '/2/users/get_current_account',
    { kind: 'delay', ms: UPSTREAM_DELAY_MS },
    IN_FLIGHT + 1,
  )
  const inFlight = Array.from({ length: IN_FLIGHT }, async (_, i) => {
    const index = i % USERS
    const response = await world.api(users[index] as string, 'GET', '/v1/me')
    return {
      index,
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
    }
  })
  // Wait until Dropbox holds the refresh and every call: they are in flight in the connector.
  for (let waited = 0; ; waited += 10) {
    const counters = world.emulator.counters()
    const held = counters.calls.filter((call) => call.route === '/2/users/get_current_account')
    if (counters.tokenRequests.refresh_token >= 1 && held.length >= IN_FLIGHT - 1) break
    assert.ok(waited < 10_000, `calls did not reach Dropbox: ${held.length}`)
    await sleep(10)
  }

  const signalledAt = performance.now()
  connector.child.kill('SIGTERM')
  await sleep(Math.min(300, UPSTREAM_DELAY_MS / 4))

  // Requests finishing on connections opened before the signal: refused with a problem.
  const drained = await Promise.all(
    parked.map(async ({ kind, request }) => ({ kind, response: await request.finish() })),
  )
  for (const { kind, response } of drained) {
    if (kind === 'readyz') {
      assert.equal(response.status, 503, `readyz while draining: ${response.body}`)
      assert.match(response.body, /"lifecycle":"shutting down"/)
    } else {
      assert.equal(response.status, 503, response.body)
      assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
      assert.equal(response.headers.connection, 'close')
      assert.equal((JSON.parse(response.body) as { code: string }).code, 'shutting_down')
    }
  }
  // A new connection is refused outright on both listeners: no half-served request.
  for (const base of [world.baseUrl, world.internalUrl]) {
    const refused = await fetch(`${base}/healthz`).then(
      (response) => `answered ${response.status}`,
      (error: { cause?: { code?: string } }) => error.cause?.code,
    )
    assert.equal(refused, 'ECONNREFUSED', base)
  }

  const results = await Promise.all(inFlight)
  for (const { index, status, body } of results) {
    assert.equal(status, 200, `an in-flight call was cut: ${JSON.stringify(body)}`)
    assert.equal(body.account_id, accounts[index], 'an in-flight call answered another account')
  }
  const exit = await connector.exited
  const drainMs = Math.round(performance.now() - signalledAt)
  assert.deepEqual(exit, { code: 0, signal: null }, connector.output().slice(-2000))
  assert.match(connector.output(), /"msg":"shut down cleanly"/)
  assert.ok(drainMs >= UPSTREAM_DELAY_MS / 2, `exited after ${drainMs} ms: in-flight not awaited`)

  // Nothing lost: the database is intact and every connection works after a restart.
  assert.equal(integrityCheck(world.databasePath), 'ok')
  assert.deepEqual(
    connectionRows(world.databasePath).map((row) => `${row.user_id}:${row.status}`),
    users.map((user) => `${user}:connected`).sort(),
  )
  const refreshes = world.emulator.counters().tokenRequests.refresh_token
  const restarted = await startConnector(t, world)
  world.emulator.resetCounters()
  for (const [i, user] of users.entries()) {
    const me = await world.api(user, 'GET', '/v1/me')
    assert.equal(me.status, 200)
    assert.equal(((await me.json()) as { account_id: string }).account_id, accounts[i])
  }
  assert.equal(
    world.emulator.counters().tokenRequests.refresh_token,
    0,
    'the refresh finished during the drain was not kept',
  )

  const secrets = worldSecrets(world)
  sweepLogs(secrets, 'connector log', [...connector.logLines(), ...restarted.logLines()])
  t.diagnostic(
    `shutdown: ${IN_FLIGHT} calls + ${refreshes} refresh in flight (${UPSTREAM_DELAY_MS} ms upstream), ${PARKED.readyz + PARKED.api} requests during drain → 503, exit 0 after ${drainMs} ms`,
  )
})
