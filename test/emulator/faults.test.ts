/**
 * Injected faults on the wire: 429 both ways, 5xx, delay, hang, malformed JSON, reset, an early
 * token expiry; and the call log.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS, startEmulator } from '../../emulator/index.ts'
import {
  BASIC,
  connect,
  rpc,
  startTestEmulator,
  tokenRequest,
  withoutDots,
} from './test-helpers.ts'

const ACCOUNT = 'users/get_current_account'
const ROUTE = `/2/${ACCOUNT}`

test('faults', async (t) => {
  const emulator = await startTestEmulator(t)
  const { access_token: token } = await connect(emulator, ACCOUNT_IDS.alice)

  await t.test('429 with a JSON body', async () => {
    emulator.injectFault(ROUTE, {
      kind: 'rate_limit',
      retryAfter: 15,
      body: 'json',
      reason: 'too_many_write_operations',
    })
    const answer = await rpc(emulator, ACCOUNT, { token })
    assert.deepEqual(
      [
        answer.status,
        answer.contentType,
        answer.headers.get('retry-after'),
        withoutDots(answer.json),
      ],
      [
        429,
        'application/json',
        '15',
        {
          error_summary: 'too_many_write_operations/',
          error: { reason: { '.tag': 'too_many_write_operations' }, retry_after: 15 },
        },
      ],
    )
    assert.equal((await rpc(emulator, ACCOUNT, { token })).status, 200, 'one call only by default')
  })

  await t.test('429 in plain text', async () => {
    emulator.injectFault(ROUTE, { kind: 'rate_limit', retryAfter: 2, body: 'text' })
    const answer = await rpc(emulator, ACCOUNT, { token })
    assert.deepEqual(
      [answer.status, answer.contentType, answer.headers.get('retry-after'), answer.text],
      [429, 'text/plain; charset=utf-8', '2', 'Too Many Requests'],
    )
  })

  await t.test('5xx, for the next N calls', async () => {
    emulator.injectFault(ROUTE, { kind: 'status', status: 500 }, 2)
    emulator.injectFault(ROUTE, { kind: 'status', status: 502 })
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await rpc(emulator, ACCOUNT, { token })).status)
    assert.deepEqual(statuses, [500, 500, 502, 200])
    emulator.injectFault('/oauth2/token', { kind: 'status', status: 503 })
    const tokenAnswer = await tokenRequest(emulator, {
      grant_type: 'refresh_token',
      refresh_token: 'x'.repeat(64),
    })
    assert.deepEqual([tokenAnswer.status, tokenAnswer.contentType], [503, 'application/json'])
  })

  await t.test('a delay, then the normal answer', async () => {
    emulator.injectFault(ROUTE, { kind: 'delay', ms: 150 })
    const started = performance.now()
    const answer = await rpc(emulator, ACCOUNT, { token })
    assert.equal(answer.status, 200)
    assert.ok(performance.now() - started >= 140)
  })

  await t.test('malformed JSON: 200, application/json, half a body', async () => {
    emulator.injectFault(ROUTE, { kind: 'malformed_json' })
    const answer = await rpc(emulator, ACCOUNT, { token })
    assert.deepEqual([answer.status, answer.contentType], [200, 'application/json'])
    assert.ok(answer.text.startsWith(`{"account_id":"${ACCOUNT_IDS.alice}"`))
    assert.throws(() => JSON.parse(answer.text), SyntaxError)
  })

  await t.test('a reset: the socket dies without an answer', async () => {
    emulator.injectFault(ROUTE, { kind: 'reset' })
    await assert.rejects(
      rpc(emulator, ACCOUNT, { token }),
      (error: Error & { cause?: { code?: string } }) => {
        assert.equal(error.cause?.code, 'ECONNRESET')
        return true
      },
    )
    assert.equal((await rpc(emulator, ACCOUNT, { token })).status, 200)
  })

  await t.test('a hang never answers; the call log says 0', async () => {
    emulator.resetCounters()
    emulator.injectFault(ROUTE, { kind: 'hang' })
    await assert.rejects(
      fetch(`${emulator.url}${ROUTE}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(200),
      }),
      { name: 'TimeoutError' },
    )
    assert.equal(emulator.counters().calls[0]?.status, 0)
  })

  await t.test("expired_access_token: 401 whatever the token, Dropbox's shape", async () => {
    emulator.injectFault(ROUTE, { kind: 'expired_access_token' })
    const answer = await rpc(emulator, ACCOUNT, { token })
    assert.deepEqual(
      [answer.status, answer.contentType, withoutDots(answer.json)],
      [
        401,
        'application/json',
        {
          error_summary: 'expired_access_token/',
          error: { '.tag': 'expired_access_token' },
        },
      ],
    )
    assert.equal((await rpc(emulator, ACCOUNT, { token })).status, 200, 'the token still works')
  })

  await t.test('clearFaults drops whatever is queued', async () => {
    emulator.injectFault(ROUTE, { kind: 'status', status: 500 }, 5)
    emulator.clearFaults()
    assert.equal((await rpc(emulator, ACCOUNT, { token })).status, 200)
  })

  await t.test('bad fault definitions are refused', () => {
    assert.throws(() => emulator.injectFault('2/users', { kind: 'hang' }), /route must be a path/)
    assert.throws(
      () => emulator.injectFault(ROUTE, { kind: 'status', status: 404 as 500 }),
      /500, 502 or 503/,
    )
    assert.throws(() => emulator.injectFault(ROUTE, { kind: 'hang' }, 0), /times/)
    assert.throws(() => emulator.injectFault(ROUTE, { kind: 'nope' } as never), /unknown fault/)
    assert.throws(
      () => emulator.injectFault('/oauth2/token', { kind: 'expired_access_token' }),
      /\/2\/ routes only/,
    )
  })

  await t.test('the call log keeps headers, body and the status answered', async () => {
    emulator.resetCounters()
    await rpc(emulator, 'files/list_folder', {
      token,
      body: { path: '/Office' },
      headers: { 'dropbox-api-path-root': '{".tag": "home"}' },
    })
    emulator.injectFault('/2/files/list_folder', { kind: 'status', status: 503 })
    await rpc(emulator, 'files/list_folder', { token, body: { path: '' } })
    await tokenRequest(
      emulator,
      { grant_type: 'refresh_token', refresh_token: 'x'.repeat(64) },
      { auth: BASIC },
    )
    const { calls } = emulator.counters()
    assert.equal(calls.length, 2, 'token requests are not /2 calls')
    assert.deepEqual(
      calls.map((call) => [call.route, call.status, call.body]),
      [
        ['/2/files/list_folder', 200, { path: '/Office' }],
        ['/2/files/list_folder', 503, { path: '' }],
      ],
    )
    assert.equal(calls[0]?.headers.authorization, `Bearer ${token}`)
    assert.equal(calls[0]?.headers['dropbox-api-path-root'], '{".tag": "home"}')
  })
})

test('close() ends hanging and delayed calls', async () => {
  const emulator = await startEmulator()
  emulator.injectFault('/2/users/get_current_account', { kind: 'hang' })
  emulator.injectFault('/2/files/list_folder', { kind: 'delay', ms: 60_000 })
  const hanging = assert.rejects(
    fetch(`${emulator.url}/2/users/get_current_account`, { method: 'POST' }),
  )
  const delayed = assert.rejects(fetch(`${emulator.url}/2/files/list_folder`, { method: 'POST' }))
  await new Promise((resolve) => setTimeout(resolve, 50))
  const started = performance.now()
  await emulator.close()
  assert.ok(performance.now() - started < 1000)
  await hanging
  await delayed
})
