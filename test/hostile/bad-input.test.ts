/**
 * Bad input sweep (issue 10): every `/v1` and browser route gets malformed, oversized,
 * wrongly-typed, unicode-edge and injection input, from a fixed corpus and from fast-check.
 * The answer is always a 4xx problem+json (an HTML page on the browser routes), never a 5xx,
 * the process keeps serving, and input invalid on its face never reaches Dropbox (the
 * emulator's counters stay at zero).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { type Stack, startStack } from '../stack.ts'
import {
  assertProblem,
  PROBLEM_TYPE,
  type RawResponse,
  rawRequest,
  readResponse,
  type Secrets,
  stackSecrets,
  sweepLogs,
} from './support.ts'

/** fast-check runs per property (each run is one HTTP request). */
const RUNS = { list: 400, connect: 150, callback: 150, complete: 150, body: 150, routes: 150 }
const MAX_PATH_LENGTH = 1024
const SEED = Number(process.env.HOSTILE_SEED ?? Date.now() % 1_000_000)

const CORPUS = [
  '',
  ' ',
  '.',
  '..',
  '../',
  '../../etc/passwd',
  'a/../../b',
  'a/./b/..',
  '%2e%2e',
  '%2e%2e/x',
  '..%2f..%2fx',
  '..\\..\\x',
  'a\\..\\b',
  '\u0000',
  'a\u0000b',
  '\r\nSet-Cookie: x=1',
  'a\nb',
  '\u007f',
  '\u001b[31m',
  'id:abc',
  'rev:0123456789',
  'ns:1/x',
  '/',
  '//',
  '///a//b/',
  './/./.',
  '\uff0e\uff0e',
  '\u202eevil',
  '\ufeff',
  'a\u200db',
  'e\u0301',
  '\ud83d\ude00',
  '\ud800',
  '\udfff',
  "' OR 1=1 --",
  '"; DROP TABLE connections;--',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe
  '${7*7}',
  '{{7*7}}',
  '%s%s%n',
  '__proto__',
  'constructor',
  '{"$gt":""}',
  '[]',
  'null',
  'NaN',
  '-1',
  '0',
  '1e309',
  '0x10',
  '9'.repeat(400),
  'true',
  'javascript:alert(1)',
  '//evil.example',
  'http://evil.example/',
  'a'.repeat(MAX_PATH_LENGTH),
  'a'.repeat(MAX_PATH_LENGTH + 1),
  '\u00e9'.repeat(MAX_PATH_LENGTH + 1),
  'a/'.repeat(600),
  'x'.repeat(5000),
]
const SEGMENTS = [
  'a',
  'Docs',
  '.',
  '..',
  '',
  ' ',
  '\\',
  '%2e',
  'id:1',
  '\u0000',
  '\u00e9',
  '\ud83d',
]

const hostile = fc.oneof(
  fc.constantFrom(...CORPUS),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 8 }).map((parts) => parts.join('/')),
)

/** As the server decodes it: lone surrogates cannot be sent, URL encoding makes them U+FFFD. */
const wellFormed = (value: string) => value.toWellFormed()
const encode = (value: string) => encodeURIComponent(wellFormed(value))

function query(params: Record<string, string | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${encode(value as string)}`)
  return parts.length ? `?${parts.join('&')}` : ''
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: contract §4 rejects exactly these
const CONTROL = /[\u0000-\u001f\u007f]/

/** contract §4 step 1-2, independently of the implementation. */
function pathInvalidOnItsFace(path: string): boolean {
  return CONTROL.test(path) || path.length > MAX_PATH_LENGTH || path.split('/').includes('..')
}

function limitValid(limit: string): boolean {
  const value = Number(limit)
  return limit.trim() !== '' && Number.isInteger(value) && value >= 1 && value <= 2000
}

interface Tally {
  requests: number
  byStatus: Map<number, number>
}

function count(tally: Tally, status: number) {
  tally.requests++
  tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1)
}

function assertNo5xx(response: RawResponse, what: string) {
  assert.ok(response.status < 500, `${what} → ${response.status} ${response.body.slice(0, 300)}`)
}

function assertHtmlPage(response: RawResponse, what: string, echo?: string) {
  assert.equal(response.status, 400, `${what} → ${response.status} ${response.body.slice(0, 200)}`)
  assert.equal(response.headers['content-type'], 'text/html; charset=utf-8', what)
  assert.equal(response.headers.location, undefined, `${what}: redirected`)
  assert.equal(response.headers['referrer-policy'], 'no-referrer', what)
  assert.equal(response.headers['cache-control'], 'no-store', what)
  assert.ok(!/<script|onerror=/i.test(response.body), `${what}: markup in the page`)
  if (echo !== undefined && echo.length >= 16)
    assert.ok(!response.body.includes(echo), `${what}: the input is echoed`)
}

/** Still answering, and nothing secret logged (with debug logging) while refusing input. */
async function stillServing(stack: Stack & { secrets?: Secrets }) {
  assert.equal((await fetch(`${stack.baseUrl}/healthz`)).status, 200)
  assert.equal((await fetch(`${stack.baseUrl}/readyz`)).status, 200)
  sweepLogs(stackSecrets(stack, stack.secrets), 'connector log', stack.logs.lines)
}

function upstreamCalls(stack: Stack): number {
  const counters = stack.emulator.counters()
  return (
    counters.calls.length +
    counters.tokenRequests.authorization_code +
    counters.tokenRequests.refresh_token
  )
}

async function connectedStack(t: Parameters<typeof startStack>[0]) {
  const stack = await startStack(t)
  assert.equal((await stack.connect('fuzz-user', ACCOUNT_IDS.alice)).status, 200)
  // The connect flow's secrets, before the properties reset the emulator's counters.
  return Object.assign(stack, { secrets: stackSecrets(stack) })
}

test('GET /v1/workspace/list: generated queries are 2xx or a 4xx problem; invalid ones never reach Dropbox', async (t) => {
  const stack = await connectedStack(t)
  const tally: Tally = { requests: 0, byStatus: new Map() }
  let refusedLocally = 0
  // Mostly well-formed requests with one hostile part, so both outcomes are exercised.
  const plausiblePath = fc
    .array(fc.constantFrom('Docs', 'a', 'Photos', '\u00e9t\u00e9', ' x ', '\ud83d\ude00', '.'), {
      maxLength: 4,
    })
    .map((parts) => parts.join('/'))
  const params = fc.record(
    {
      path: fc.oneof({ arbitrary: plausiblePath, weight: 1 }, { arbitrary: hostile, weight: 2 }),
      cursor: fc.oneof(hostile, fc.constantFrom('AAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'AA')),
      limit: fc.oneof(
        { arbitrary: fc.integer({ min: 1, max: 2000 }).map(String), weight: 3 },
        { arbitrary: hostile, weight: 1 },
        { arbitrary: fc.integer().map(String), weight: 1 },
        { arbitrary: fc.double().map(String), weight: 1 },
      ),
      recursive: fc.oneof(
        { arbitrary: fc.constantFrom('true', 'false'), weight: 3 },
        { arbitrary: hostile, weight: 1 },
      ),
    },
    { requiredKeys: [] },
  )
  // `path` with `cursor` is invalid on its face: one request in ten keeps both.
  const queries = fc
    .tuple(params, fc.integer({ min: 0, max: 9 }))
    .map(([input, dice]) =>
      dice === 0 || input.path === undefined ? input : { ...input, cursor: undefined },
    )
  await fc.assert(
    fc.asyncProperty(queries, async (input) => {
      const sent = Object.fromEntries(
        Object.entries(input)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => [key, wellFormed(value as string)]),
      ) as Record<string, string | undefined>
      const what = `list ${JSON.stringify(sent).replace(/(.)\1{20,}/g, '$1…')}`
      stack.emulator.resetCounters()
      const assertion = await stack.assertionFor('fuzz-user')
      const response = await readResponse(
        await fetch(`${stack.internalUrl}/v1/workspace/list${query(sent)}`, {
          headers: { 'x-identity-assertion': assertion },
        }),
      )
      count(tally, response.status)
      assertNo5xx(response, what)
      const invalid =
        (sent.path !== undefined && sent.cursor !== undefined) ||
        (sent.path !== undefined && pathInvalidOnItsFace(sent.path)) ||
        sent.cursor === '' ||
        (sent.limit !== undefined && !limitValid(sent.limit)) ||
        (sent.recursive !== undefined && !['true', 'false', '1', '0', ''].includes(sent.recursive))
      if (response.status === 200) {
        assert.ok(!invalid, `${what}: accepted`)
        return
      }
      const problem = assertProblem(response, response.status, undefined, what)
      if (invalid) {
        refusedLocally++
        assert.equal(response.status, 400, what)
        assert.ok(['invalid_request', 'invalid_path'].includes(problem.code as string), what)
        assert.equal(upstreamCalls(stack), 0, `${what}: reached Dropbox`)
      } else {
        assert.ok(
          ['invalid_cursor', 'invalid_path', 'path_not_found', 'not_a_folder'].includes(
            problem.code as string,
          ) ||
            (problem.code === 'invalid_request' && sent.recursive !== undefined),
          `${what}: ${problem.code}`,
        )
      }
    }),
    { numRuns: RUNS.list, seed: SEED, endOnFailure: true },
  )
  await stillServing(stack)
  t.diagnostic(
    `bad input /v1/workspace/list: ${tally.requests} generated queries (seed ${SEED}), ${refusedLocally} refused before Dropbox, statuses ${JSON.stringify(Object.fromEntries(tally.byStatus))}`,
  )
})

test('browser routes: generated tokens, states, codes, errors and cookies get the HTML error page', async (t) => {
  const stack = await connectedStack(t)
  const tally: Tally = { requests: 0, byStatus: new Map() }
  await fc.assert(
    fc.asyncProperty(fc.option(hostile, { nil: undefined }), async (token) => {
      stack.emulator.resetCounters()
      const url = `${stack.baseUrl}/connect${query({ token })}`
      const response = await readResponse(await fetch(url, { redirect: 'manual' }))
      count(tally, response.status)
      assertHtmlPage(response, `connect token=${JSON.stringify(token)?.slice(0, 80)}`, token)
      assert.equal(response.headers['set-cookie'], undefined, 'a flow cookie for a bad token')
      assert.equal(upstreamCalls(stack), 0)
    }),
    { numRuns: RUNS.connect, seed: SEED, endOnFailure: true },
  )
  const callback = fc.record(
    {
      state: hostile,
      code: hostile,
      error: fc.oneof(hostile, fc.constantFrom('access_denied', 'server_error')),
      error_description: hostile,
    },
    { requiredKeys: [] },
  )
  await fc.assert(
    fc.asyncProperty(callback, fc.option(hostile, { nil: undefined }), async (params, cookie) => {
      stack.emulator.resetCounters()
      const what = `callback ${JSON.stringify(params).slice(0, 160)} cookie=${JSON.stringify(cookie)?.slice(0, 40)}`
      const headers: Record<string, string> =
        cookie === undefined ? {} : { cookie: `cc_flow=${encode(cookie)}` }
      const response = await readResponse(
        await fetch(`${stack.baseUrl}/connect/callback${query(params)}`, {
          redirect: 'manual',
          headers,
        }),
      )
      count(tally, response.status)
      assertHtmlPage(response, what, params.error_description)
      assert.equal(upstreamCalls(stack), 0, `${what}: reached Dropbox`)
    }),
    { numRuns: RUNS.callback, seed: SEED, endOnFailure: true },
  )
  await stillServing(stack)
  t.diagnostic(
    `bad input browser routes: ${tally.requests} generated requests, all 400 HTML, 0 redirects, 0 upstream calls`,
  )
})

test('connect-session routes: generated ids and bodies are 201 or a 4xx problem, and never reach Dropbox', async (t) => {
  const stack = await connectedStack(t)
  const tally: Tally = { requests: 0, byStatus: new Map() }
  // Session ids beyond Fastify's 200-character parameter limit are the framework-error test's.
  const sessionId = hostile.filter((id) => encode(id).length <= 200 && id !== '')
  await fc.assert(
    fc.asyncProperty(sessionId, async (id) => {
      stack.emulator.resetCounters()
      const what = `complete ${JSON.stringify(id).slice(0, 80)}`
      const response = await readResponse(
        await stack.api('fuzz-user', 'POST', `/v1/connect/sessions/${encode(id)}/complete`),
      )
      count(tally, response.status)
      const problem = assertProblem(response, response.status, undefined, what)
      assert.ok(
        (response.status === 404 && problem.code === 'session_not_found') ||
          (response.status === 404 && problem.code === 'not_found') ||
          (response.status === 400 && problem.code === 'invalid_request'),
        `${what}: ${response.status} ${problem.code}`,
      )
      assert.equal(upstreamCalls(stack), 0, `${what}: reached Dropbox`)
    }),
    { numRuns: RUNS.complete, seed: SEED, endOnFailure: true },
  )
  const bodies = fc.record({
    contentType: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      '',
    ),
    body: fc.oneof(
      fc.json({ maxDepth: 4 }),
      hostile,
      fc.constantFrom(
        '{"__proto__":{"polluted":1}}',
        '{"constructor":{"prototype":{"polluted":1}}}',
        `${'['.repeat(5000)}${']'.repeat(5000)}`,
        '{"user_id":"someone-else","sub":"someone-else"}',
        '{',
        '\u0000',
      ),
    ),
  })
  await fc.assert(
    fc.asyncProperty(bodies, async ({ contentType, body }) => {
      stack.emulator.resetCounters()
      const what = `create ${contentType} ${JSON.stringify(body).slice(0, 80)}`
      const assertion = await stack.assertionFor('fuzz-user')
      const response = await readResponse(
        await fetch(`${stack.internalUrl}/v1/connect/sessions`, {
          method: 'POST',
          headers: {
            'x-identity-assertion': assertion,
            ...(contentType ? { 'content-type': contentType } : {}),
          },
          body: wellFormed(body),
        }),
      )
      count(tally, response.status)
      if (response.status !== 201) assertProblem(response, response.status, undefined, what)
      assertNo5xx(response, what)
      assert.equal(upstreamCalls(stack), 0, `${what}: reached Dropbox`)
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'prototype polluted')
    }),
    { numRuns: RUNS.body, seed: SEED, endOnFailure: true },
  )
  await stillServing(stack)
  t.diagnostic(
    `bad input session routes: ${tally.requests} generated requests, statuses ${JSON.stringify(Object.fromEntries(tally.byStatus))}`,
  )
})

test('every route: wrong methods, unknown paths, hostile headers and oversized input are 4xx problems', async (t) => {
  const stack = await connectedStack(t)
  const tally: Tally = { requests: 0, byStatus: new Map() }
  const known = [
    '/v1/connect/sessions',
    '/v1/connect/sessions/abc/complete',
    '/v1/connection',
    '/v1/me',
    '/v1/workspace/list',
    '/connect',
    '/connect/callback',
  ]
  const requests = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
    path: fc.oneof(
      fc.constantFrom(...known),
      hostile.map((suffix) => `/v1/x-${encode(suffix)}`),
      hostile.map((suffix) => `/x-${encode(suffix)}`),
    ),
    assertion: fc.oneof(
      fc.constant('valid'),
      fc.string({ unit: 'binary-ascii', maxLength: 64 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      fc.integer({ min: 8193, max: 9_000 }).map((n) => 'e'.repeat(n)),
    ),
  })
  await fc.assert(
    fc.asyncProperty(requests, async ({ method, path, assertion }) => {
      stack.emulator.resetCounters()
      const what = `${method} ${path.slice(0, 80)} assertion=${assertion.slice(0, 20)}(${assertion.length})`
      const header = assertion === 'valid' ? await stack.assertionFor('fuzz-user') : assertion
      // Browser steps on the public listener, the rest on the internal one (contract §5).
      const base = path.startsWith('/connect') ? stack.baseUrl : stack.internalUrl
      const response = await readResponse(
        await fetch(`${base}${path}`, {
          method,
          redirect: 'manual',
          headers: { 'x-identity-assertion': header },
        }),
      )
      count(tally, response.status)
      assertNo5xx(response, what)
      if (response.status >= 400 && !path.startsWith('/connect'))
        assertProblem(response, response.status, undefined, what)
      if (assertion !== 'valid' && path.startsWith('/v1/'))
        assert.ok([401, 404].includes(response.status), `${what} → ${response.status}`)
    }),
    { numRuns: RUNS.routes, seed: SEED, endOnFailure: true },
  )

  // Oversized and malformed input that fetch can send.
  const assertion = await stack.assertionFor('fuzz-user')
  const big = [
    [
      'body of 1 MB',
      '/v1/connect/sessions',
      { 'content-type': 'application/json' },
      `"${'x'.repeat(1 << 20)}"`,
      413,
    ],
    ['query of 12 kB', `/v1/workspace/list?path=${'a'.repeat(12_000)}`, {}, undefined, 400],
    ['cursor of 9 kB', `/v1/workspace/list?cursor=${'c'.repeat(9_000)}`, {}, undefined, 400],
    ['limit as a list', '/v1/workspace/list?limit=1&limit=2', {}, undefined, 400],
    ['path as a list', '/v1/workspace/list?path=a&path=b', {}, undefined, 400],
    ['invalid JSON', '/v1/connect/sessions', { 'content-type': 'application/json' }, '{"a":', 400],
  ] as const
  for (const [what, path, headers, body, status] of big) {
    stack.emulator.resetCounters()
    const response = await readResponse(
      await fetch(`${stack.internalUrl}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { ...headers, 'x-identity-assertion': assertion },
        body,
      }),
    )
    count(tally, response.status)
    assertProblem(response, status, undefined, what)
    assert.equal(upstreamCalls(stack), 0, `${what}: reached Dropbox`)
  }
  await stillServing(stack)
  t.diagnostic(
    `bad input methods/paths/headers: ${tally.requests} requests, statuses ${JSON.stringify(Object.fromEntries(tally.byStatus))}`,
  )
})

/** Requests no client library sends: malformed encodings, bytes, framing and header sizes. */
function rawCorpus(assertion: string): Array<[string, string | Buffer]> {
  const head = (line: string, headers = '') =>
    `${line} HTTP/1.1\r\nHost: connector\r\nX-Identity-Assertion: ${assertion}\r\n${headers}Connection: close\r\n\r\n`
  return [
    [
      'bad percent-encoding in a path parameter',
      head('POST /v1/connect/sessions/%E0%A4%A/complete'),
    ],
    [
      'path parameter over 200 characters',
      head(`POST /v1/connect/sessions/${'a'.repeat(300)}/complete`),
    ],
    [
      'bad percent-encoding in the query',
      head('GET /v1/workspace/list?path=%E0%A4%A&cursor=%C0%AF'),
    ],
    ['bad percent-encoding in the connect token', head('GET /connect?token=%E0%A4%A')],
    ['header section over 16 kB', head('GET /v1/me', `X-Big: ${'a'.repeat(20_000)}\r\n`)],
    [
      'cookie over 16 kB',
      head('GET /connect/callback?state=a&code=b', `Cookie: cc_flow=${'x'.repeat(17_000)}\r\n`),
    ],
    ['control byte in a header', head('GET /v1/me', 'X-A: a\u0001b\r\n')],
    [
      'raw non-UTF-8 bytes in the target',
      Buffer.concat([
        Buffer.from('GET /v1/workspace/list?path='),
        Buffer.from([0xff, 0xc3, 0x28]),
        Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      ]),
    ],
    ['request line garbage', 'GARBAGE\r\n\r\n'],
    ['invalid Content-Length', head('POST /v1/connect/sessions', 'Content-Length: abc\r\n')],
    [
      'Content-Length with Transfer-Encoding',
      head('POST /v1/connect/sessions', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n'),
    ],
    ['two identity headers', head('GET /v1/me', `X-Identity-Assertion: ${assertion}\r\n`)],
    ['unknown method', head('BREW /v1/me')],
    ['TRACE', head('TRACE /v1/me')],
    ['dot segments before the route', head('GET /%2e%2e/v1/me')],
  ]
}

test('raw protocol-level input: 4xx, the connection closed, the process serving, nothing upstream', async (t) => {
  const stack = await connectedStack(t)
  const port = Number(new URL(stack.internalUrl).port)
  const corpus = rawCorpus(await stack.assertionFor('fuzz-user'))
  const statuses: number[] = []
  for (const [what, request] of corpus) {
    stack.emulator.resetCounters()
    const response = await rawRequest(port, request)
    statuses.push(response.status)
    assert.ok(response.status >= 400 && response.status < 500, `${what} → ${response.status}`)
    assert.equal(upstreamCalls(stack), 0, `${what}: reached Dropbox`)
  }
  await stillServing(stack)
  t.diagnostic(`raw protocol corpus: ${corpus.length} requests, statuses ${statuses.join(' ')}`)
})

test('raw protocol-level input: every 4xx is problem+json', async (t) => {
  const stack = await connectedStack(t)
  const port = Number(new URL(stack.internalUrl).port)
  const failures: string[] = []
  for (const [what, request] of rawCorpus(await stack.assertionFor('fuzz-user'))) {
    const response = await rawRequest(port, request)
    const type = response.headers['content-type']?.split(';')[0]
    if (type !== PROBLEM_TYPE && !type?.startsWith('text/html'))
      failures.push(`${what}: ${response.status} ${type}`)
  }
  assert.deepEqual(failures, [])
})
