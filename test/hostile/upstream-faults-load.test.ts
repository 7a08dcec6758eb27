/**
 * Upstream faults under load (issue 10): a bounded load on loopback while the emulator injects
 * 429s (JSON and text), 5xx, hangs, resets, malformed JSON and delays into the API calls and
 * the token refreshes, and expires every access token now and then. Every answer must be a
 * success for the caller's own account or the contract §6 error of a fault; afterwards the service
 * is ready, every connection still works, nothing secret was logged and the heap is back.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import autocannon from 'autocannon'
import type { Fault } from '../../emulator/types.ts'
import { startStack } from '../stack.ts'
import {
  ACCESS_TOKEN_SHAPE,
  collectGarbage,
  Secrets,
  seedAccounts,
  sleep,
  sweepLogs,
} from './support.ts'

const CONCURRENCY = 64
const DURATION_S = 22
const WARMUP_S = 3
const USERS = 16
/** One fault is injected every this many milliseconds, rotating through FAULTS. */
const FAULT_INTERVAL_MS = 100
/**
 * Access tokens are expired this often, so refreshes run (and meet faults) under load; only
 * those older than TOKEN_MIN_AGE_MS, as Dropbox ends a token at its age, not on issue.
 */
const EXPIRE_INTERVAL_MS = 2_000
const TOKEN_MIN_AGE_MS = 1_000
const UPSTREAM_TIMEOUT_MS = 2_000
/** Heap after the run (full GC) may exceed the baseline by this much at most. */
const HEAP_SLACK_BYTES = 24 * 1024 * 1024

/** Name, fault, and for how many consecutive calls (a 5xx or reset once is retried away). */
const FAULTS: Array<[string, Fault, number]> = [
  ['429 json', { kind: 'rate_limit', retryAfter: 1, body: 'json' }, 1],
  ['503', { kind: 'status', status: 503 }, 1],
  ['hang', { kind: 'hang' }, 1],
  ['reset', { kind: 'reset' }, 1],
  ['malformed json', { kind: 'malformed_json' }, 1],
  ['429 text', { kind: 'rate_limit', retryAfter: 2, body: 'text' }, 1],
  ['500 outage', { kind: 'status', status: 500 }, 4],
  ['delay', { kind: 'delay', ms: 300 }, 1],
  ['503 outage', { kind: 'status', status: 503 }, 4],
  ['reset outage', { kind: 'reset' }, 4],
]
const ROUTES = ['/2/users/get_current_account', '/2/files/list_folder', '/oauth2/token']
/** The contract §6 answer for each fault outcome; anything else is a failure. */
const FAULT_CODES: Record<number, { code: string; retryAfter: boolean }> = {
  429: { code: 'upstream_rate_limited', retryAfter: true },
  502: { code: 'upstream_error', retryAfter: false },
  503: { code: 'upstream_unavailable', retryAfter: true },
  504: { code: 'upstream_timeout', retryAfter: false },
}

test(`upstream faults under load: ${CONCURRENCY} connections × ${DURATION_S} s`, async (t) => {
  const stack = await startStack(t, {
    env: { UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS), LOG_LEVEL: 'debug' },
  })
  const accounts = seedAccounts(stack.emulator, 'load', USERS)
  const users = accounts.map((_, i) => `load-user-${i}`)
  for (const [i, user] of users.entries()) {
    assert.equal((await stack.connect(user, accounts[i] as string)).status, 200)
  }
  const secrets = new Secrets()
  const harvest = () => secrets.addFromEmulator(stack.emulator.counters())

  const outcomes = new Map<string, number>()
  const unexpected: string[] = []
  const note = (key: string, problem?: string) => {
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
    if (problem && unexpected.length < 20) unexpected.push(problem)
  }
  let next = 0
  const load = async (seconds: number) => {
    // Assertions live 120 s: mint fresh ones for each run.
    const assertions = await Promise.all(users.map((user) => stack.assertionFor(user)))
    return autocannon({
      url: stack.internalUrl, // /v1 answers on the internal listener only
      connections: CONCURRENCY,
      duration: seconds,
      timeout: 30,
      requests: [
        {
          setupRequest: (request, context) => {
            const user = next++ % USERS
            const path = next % 2 === 0 ? '/v1/me' : '/v1/workspace/list'
            Object.assign(context, { user, path })
            return {
              ...request,
              method: 'GET',
              path,
              headers: { 'x-identity-assertion': assertions[user] as string },
            }
          },
          onResponse: (status, body, context, headers) => {
            const { user, path } = context as { user: number; path: string }
            const where = `${path} for ${users[user]}`
            if (ACCESS_TOKEN_SHAPE.test(body)) note('token in response', `${where}: ${body}`)
            if (status === 200) {
              const parsed = JSON.parse(body) as {
                account_id?: string
                entries?: Array<{ name: string }>
              }
              const own =
                path === '/v1/me'
                  ? parsed.account_id === accounts[user]
                  : parsed.entries?.every((entry) => entry.name === `load-${user}.txt`)
              note(own ? '200' : 'foreign', own ? undefined : `${where}: ${body.slice(0, 200)}`)
              return
            }
            const expected = FAULT_CODES[status]
            let code = ''
            try {
              code = (JSON.parse(body) as { code?: string }).code ?? ''
            } catch {}
            const ok =
              expected !== undefined &&
              code === expected.code &&
              String(headers?.['content-type']).startsWith('application/problem+json') &&
              (!expected.retryAfter || headers?.['retry-after'] !== undefined)
            note(
              ok ? `${status} ${code}` : `unexpected ${status}`,
              ok ? undefined : `${where}: ${status} ${body.slice(0, 200)}`,
            )
          },
        },
      ],
    })
  }

  // Baseline: the same load without faults, then a full collection.
  await load(WARMUP_S)
  harvest()
  sweepLogs(secrets, 'warm-up log', stack.logs.lines)
  stack.logs.lines.length = 0
  stack.emulator.resetCounters()
  collectGarbage()
  const baselineHeap = process.memoryUsage().heapUsed
  outcomes.clear()

  const injected = new Map<string, number>()
  let faultIndex = 0
  const injector = setInterval(() => {
    const [name, fault, times] = FAULTS[faultIndex % FAULTS.length] as (typeof FAULTS)[number]
    const route = ROUTES[Math.floor(faultIndex / FAULTS.length) % ROUTES.length] as string
    faultIndex++
    stack.emulator.injectFault(route, fault, times)
    injected.set(name, (injected.get(name) ?? 0) + times)
  }, FAULT_INTERVAL_MS)
  const expirer = setInterval(
    () => stack.emulator.expireAccessTokens(undefined, { olderThanMs: TOKEN_MIN_AGE_MS }),
    EXPIRE_INTERVAL_MS,
  )
  const harvester = setInterval(harvest, 5_000)
  let result: autocannon.Result
  try {
    result = await load(DURATION_S)
  } finally {
    clearInterval(injector)
    clearInterval(expirer)
    clearInterval(harvester)
  }
  stack.emulator.clearFaults()
  harvest()
  const refreshes = stack.emulator.counters().tokenRequests.refresh_token
  const mainOutcomes = Object.fromEntries([...outcomes].sort())
  const faults = Object.fromEntries(injected)
  const total = [...injected.values()].reduce((sum, n) => sum + n, 0)
  const figures = `${CONCURRENCY} connections × ${DURATION_S} s, ${result.requests.total} requests (${Math.round(result.requests.average)}/s), ${total} faulty upstream answers injected ${JSON.stringify(faults)}, ${refreshes} refreshes, outcomes ${JSON.stringify(mainOutcomes)}`
  t.diagnostic(`load: ${figures}`)

  assert.equal(result.errors, 0, `connections lost: ${JSON.stringify(result)}`)
  assert.equal(result.timeouts, 0, 'requests timed out at the client')
  assert.deepEqual(unexpected, [], 'answers that are neither a success nor a fault error')
  assert.equal(outcomes.get('foreign') ?? 0, 0, "a user got another user's data")
  for (const status of [429, 502, 503, 504]) {
    const key = `${status} ${FAULT_CODES[status]?.code}`
    assert.ok((outcomes.get(key) ?? 0) > 0, `no ${key} although its faults were injected`)
  }
  assert.ok(refreshes >= 5, `only ${refreshes} refreshes under load`)

  // Afterwards: healthy, every connection intact, nothing secret logged, the heap back.
  await sleep(UPSTREAM_TIMEOUT_MS)
  assert.equal((await fetch(`${stack.baseUrl}/readyz`)).status, 200)
  for (const [i, user] of users.entries()) {
    const status = (await (await stack.api(user, 'GET', '/v1/connection')).json()) as {
      status: string
    }
    assert.equal(status.status, 'connected', `${user} lost its connection`)
    const me = await stack.api(user, 'GET', '/v1/me')
    assert.equal(me.status, 200, `${user}: ${await me.clone().text()}`)
    assert.equal(((await me.json()) as { account_id: string }).account_id, accounts[i])
  }
  await load(WARMUP_S)
  harvest()
  for (const assertion of stack.mintedAssertions) secrets.add('assertion', assertion)
  secrets.add('app secret', stack.config.dropbox.appSecret)
  const logLines = stack.logs.lines.length
  sweepLogs(secrets, 'connector log', stack.logs.lines)
  stack.logs.lines.length = 0
  stack.emulator.resetCounters()
  collectGarbage()
  const afterHeap = process.memoryUsage().heapUsed
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
  assert.ok(
    afterHeap <= baselineHeap + HEAP_SLACK_BYTES,
    `heap ${mb(afterHeap)} MB after the run, ${mb(baselineHeap)} MB before`,
  )

  t.diagnostic(
    `load after: 0 connection errors, all ${USERS} connections usable, heap ${mb(baselineHeap)} → ${mb(afterHeap)} MB (full GC), ${logLines} log lines swept for ${secrets.size} secrets`,
  )
})
