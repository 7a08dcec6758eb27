/** GET /v1/workspace/metadata and /v1/workspace/download against the emulator (contract §5). */
import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, fetch as undiciFetch } from 'undici'
import { contentSeed, contentSlice } from '../../emulator/content.ts'
import { STANDARD_ACCOUNTS } from '../../emulator/index.ts'
import { type Stack, startStack } from '../stack.ts'

const ALICE = STANDARD_ACCOUNTS.find((a) => a.email === 'alice@example.com')?.accountId as string
const CAROL = STANDARD_ACCOUNTS.find((a) => a.email === 'carol@example.com')?.accountId as string
const DOWNLOAD = '/2/files/download'
const NASTY_NAME = 'Grüße "q"; x\\y%20€ 😀.txt'

/**
 * The stack plus the test's own HTTP client, destroyed before the connector closes: after an
 * abort, a client may open a spare connection that carries no request, which a server only
 * drops at its headers timeout (the shutdown would wait for it).
 */
type Connected = Stack & { client: Agent }

async function connected(
  t: TestContext,
  options: { account?: string; env?: Record<string, string> } = {},
): Promise<Connected> {
  const client = new Agent()
  t.after(() => client.destroy())
  const stack = await startStack(t, { env: options.env })
  const response = await stack.connect('user-1', options.account ?? ALICE)
  assert.equal(response.status, 200)
  stack.emulator.resetCounters()
  return Object.assign(stack, { client })
}

async function get(
  stack: Connected,
  path: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  const assertion = await stack.assertionFor('user-1')
  return (await undiciFetch(`${stack.internalUrl}${path}`, {
    headers: { 'x-identity-assertion': assertion, ...headers },
    signal,
    dispatcher: stack.client,
  })) as unknown as Response
}

const q = (path: string) => encodeURIComponent(path)

function upstreamCalls(stack: Connected, route: string) {
  return stack.emulator.counters().calls.filter((call) => call.route === route)
}

async function problem(response: Response) {
  assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8')
  return (await response.json()) as { status: number; code: string; detail: string }
}

test('metadata: a file, a folder, the root, a missing path', async (t) => {
  const stack = await connected(t, { env: { WORKSPACE_ROOT: 'Office' } })
  const file = await get(stack, `/v1/workspace/metadata?path=${q('Reports/Q1.pdf')}`)
  assert.equal(file.status, 200)
  const entry = (await file.json()) as Record<string, unknown>
  assert.deepEqual(Object.keys(entry).sort(), [
    'content_hash',
    'id',
    'modified_at',
    'name',
    'path',
    'rev',
    'size',
    'type',
  ])
  assert.deepEqual(
    [entry.type, entry.name, entry.path, entry.size, entry.modified_at],
    ['file', 'Q1.pdf', 'Reports/Q1.pdf', 248_113, '2024-03-01T09:30:00Z'],
  )
  const [call] = upstreamCalls(stack, '/2/files/get_metadata')
  assert.deepEqual(call?.body, { path: '/Office/Reports/Q1.pdf', include_deleted: false })

  const folder = (await (await get(stack, '/v1/workspace/metadata?path=Reports')).json()) as object
  assert.deepEqual(
    { ...folder, id: 'x' },
    { type: 'folder', id: 'x', name: 'Reports', path: 'Reports' },
  )
  const root = (await (await get(stack, '/v1/workspace/metadata?path=')).json()) as {
    path: string
    type: string
  }
  assert.deepEqual([root.type, root.path], ['folder', ''])

  const missing = await get(stack, '/v1/workspace/metadata?path=nope.txt')
  assert.equal(missing.status, 404)
  assert.equal((await problem(missing)).code, 'path_not_found')
})

test('metadata: the root of a workspace at the Dropbox root needs no upstream call', async (t) => {
  const stack = await connected(t)
  const root = await get(stack, '/v1/workspace/metadata?path=/')
  assert.deepEqual(await root.json(), { type: 'folder', id: '', name: '', path: '' })
  assert.equal(stack.emulator.counters().calls.length, 0)
})

test('download: every §5 header, the bytes, the upstream request', async (t) => {
  const stack = await connected(t, { env: { WORKSPACE_ROOT: '/Office' } })
  const response = await get(stack, `/v1/workspace/download?path=${q('notes.txt')}`)
  assert.equal(response.status, 200)
  const h = response.headers
  assert.equal(h.get('content-type'), 'application/octet-stream')
  assert.equal(h.get('content-length'), '512')
  assert.equal(h.get('cache-control'), 'no-store')
  assert.equal(h.get('x-content-type-options'), 'nosniff')
  assert.equal(h.get('accept-ranges'), 'bytes')
  assert.equal(h.get('last-modified'), 'Fri, 01 Mar 2024 09:30:00 GMT')
  assert.equal(
    h.get('content-disposition'),
    `attachment; filename="notes.txt"; filename*=UTF-8''notes.txt`,
  )
  const entry = JSON.parse(h.get('cloud-entry') as string)
  assert.deepEqual(
    [entry.type, entry.name, entry.path, entry.size],
    ['file', 'notes.txt', 'notes.txt', 512],
  )
  assert.equal(h.get('etag'), `"${entry.content_hash}"`)
  const body = Buffer.from(await response.arrayBuffer())
  assert.deepEqual(body, contentSlice(contentSeed(entry), 0, 512))

  const [call] = upstreamCalls(stack, DOWNLOAD)
  assert.equal(call?.headers['dropbox-api-arg'], '{"path":"/Office/notes.txt"}')
  assert.match(call?.headers.authorization ?? '', /^Bearer /)
  assert.equal(call?.headers.range, undefined)
  assert.deepEqual(call?.streamed, { bytes: 512, end: 'complete' })
})

test('download: Range → 206 passed through; suffix; unsatisfiable → 416; other units ignored', async (t) => {
  const stack = await connected(t)
  const path = `/v1/workspace/download?path=${q('Photos/beach.jpg')}`
  const size = 2_097_152
  const first = await get(stack, path, { range: 'bytes=0-9' })
  assert.equal(first.status, 206)
  assert.equal(first.headers.get('content-range'), `bytes 0-9/${size}`)
  assert.equal(first.headers.get('content-length'), '10')
  const seed = contentSeed(JSON.parse(first.headers.get('cloud-entry') as string))
  assert.deepEqual(Buffer.from(await first.arrayBuffer()), contentSlice(seed, 0, 10))

  const suffix = await get(stack, path, { range: 'bytes=-5' })
  assert.equal(suffix.status, 206)
  assert.equal(suffix.headers.get('content-range'), `bytes ${size - 5}-${size - 1}/${size}`)
  assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), contentSlice(seed, size - 5, size))

  const beyond = await get(stack, path, { range: `bytes=${size + 1}-` })
  assert.equal(beyond.status, 416)
  assert.equal(beyond.headers.get('content-range'), `bytes */${size}`)
  assert.equal((await problem(beyond)).code, 'range_not_satisfiable')

  const items = await get(stack, path, { range: 'items=0-1' })
  assert.equal(items.status, 200)
  assert.equal(items.headers.get('content-length'), String(size))
  assert.equal((await items.arrayBuffer()).byteLength, size)
  const sent = upstreamCalls(stack, DOWNLOAD).map((call) => call.headers.range)
  assert.deepEqual(sent, ['bytes=0-9', 'bytes=-5', `bytes=${size + 1}-`, undefined])
})

test('download: a non-ASCII name with quotes, a backslash, % and an emoji', async (t) => {
  const stack = await connected(t)
  stack.emulator.addFiles(ALICE, [{ path: `/Docs/${NASTY_NAME}`, type: 'file', size: 33 }])
  stack.emulator.resetCounters()
  const response = await get(stack, `/v1/workspace/download?path=${q(`Docs/${NASTY_NAME}`)}`)
  assert.equal(response.status, 200)
  assert.equal(
    response.headers.get('content-disposition'),
    `attachment; filename="Gr__e _q_; x_y_20_ _.txt"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%22q%22%3B%20x%5Cy%2520%E2%82%AC%20%F0%9F%98%80.txt`,
  )
  const raw = response.headers.get('cloud-entry') as string
  assert.match(raw, /^[\x20-\x7e]+$/, 'Cloud-Entry is ASCII')
  assert.equal(JSON.parse(raw).name, NASTY_NAME)
  assert.equal((await response.arrayBuffer()).byteLength, 33)
  const [call] = upstreamCalls(stack, DOWNLOAD)
  assert.equal(
    call?.headers['dropbox-api-arg'],
    '{"path":"/Docs/Gr\\u00fc\\u00dfe \\"q\\"; x\\\\y%20\\u20ac \\ud83d\\ude00.txt"}',
  )
})

test('download: errors before the first byte are problem+json', async (t) => {
  const stack = await connected(t)
  const folder = await get(stack, '/v1/workspace/download?path=Office')
  assert.equal(folder.status, 409)
  assert.equal((await problem(folder)).code, 'not_a_file')
  const missing = await get(stack, '/v1/workspace/download?path=nope.bin')
  assert.equal(missing.status, 404)
  assert.equal((await problem(missing)).code, 'path_not_found')
  assert.equal(upstreamCalls(stack, DOWNLOAD).length, 2)

  stack.emulator.resetCounters()
  const root = await get(stack, '/v1/workspace/download?path=./')
  assert.equal((await problem(root)).code, 'not_a_file')
  for (const bad of ['../etc/passwd', 'a/../../b', 'x\u0000y', 'a'.repeat(1025)]) {
    const refused = await get(stack, `/v1/workspace/download?path=${q(bad)}`)
    assert.equal(refused.status, 400, bad)
    assert.equal((await problem(refused)).code, 'invalid_path')
    const meta = await get(stack, `/v1/workspace/metadata?path=${q(bad)}`)
    assert.equal((await problem(meta)).code, 'invalid_path')
  }
  const noPath = await get(stack, '/v1/workspace/download')
  assert.equal((await problem(noPath)).code, 'invalid_request')
  assert.equal(stack.emulator.counters().calls.length, 0, 'nothing reached Dropbox')

  const anonymous = await fetch(`${stack.internalUrl}/v1/workspace/download?path=Office/notes.txt`)
  assert.equal((await problem(anonymous)).code, 'invalid_identity')
})

test('download: 5xx before the first byte is retried; a 429 is forwarded', async (t) => {
  const stack = await connected(t)
  stack.emulator.injectFault(DOWNLOAD, { kind: 'status', status: 503 }, 2)
  const retried = await get(stack, '/v1/workspace/download?path=Office/notes.txt')
  assert.equal(retried.status, 200)
  assert.equal((await retried.arrayBuffer()).byteLength, 512)
  assert.equal(upstreamCalls(stack, DOWNLOAD).length, 3)

  stack.emulator.injectFault(DOWNLOAD, { kind: 'rate_limit', retryAfter: 7, body: 'json' })
  const limited = await get(stack, '/v1/workspace/download?path=Office/notes.txt')
  assert.equal(limited.status, 429)
  assert.equal(limited.headers.get('retry-after'), '7')
  assert.equal((await problem(limited)).code, 'upstream_rate_limited')
})

test('download: an answer whose head never comes ends in 504 within the deadline', async (t) => {
  const stack = await connected(t, { env: { UPSTREAM_TIMEOUT_MS: '500' } })
  stack.emulator.injectFault(DOWNLOAD, { kind: 'hang' })
  const started = performance.now()
  const hung = await get(stack, '/v1/workspace/download?path=Office/notes.txt')
  assert.equal(hung.status, 504)
  assert.equal((await problem(hung)).code, 'upstream_timeout')
  assert.ok(performance.now() - started < 2000)
  // The deadline ended with that call: the next download is whole.
  const next = await get(stack, '/v1/workspace/download?path=Office/notes.txt')
  assert.equal(next.status, 200)
  assert.equal((await next.arrayBuffer()).byteLength, 512)
})

test('download: an expired token is refreshed once and the download goes on', async (t) => {
  const stack = await connected(t)
  stack.emulator.expireAccessTokens(ALICE)
  const response = await get(stack, '/v1/workspace/download?path=Office/notes.txt')
  assert.equal(response.status, 200)
  assert.equal((await response.arrayBuffer()).byteLength, 512)
  assert.equal(stack.emulator.counters().tokenRequests.refresh_token, 1)
  assert.deepEqual(
    upstreamCalls(stack, DOWNLOAD).map((call) => call.status),
    [401, 200],
  )
})

test('download: a team-space account sends the path root', async (t) => {
  const stack = await connected(t, { account: CAROL })
  const response = await get(stack, `/v1/workspace/download?path=${q('Team Projects/Plan.docx')}`)
  assert.equal(response.status, 200)
  assert.equal((await response.arrayBuffer()).byteLength, 18_000)
  const [call] = upstreamCalls(stack, DOWNLOAD)
  assert.match(call?.headers['dropbox-api-path-root'] ?? '', /^\{"\.tag":"root","root":"\d+"\}$/)
})

test('download without files.content.read: 409 reconnect_required naming the scope', async (t) => {
  const stack = await connected(t, {
    env: { DROPBOX_SCOPES: 'account_info.read files.metadata.read' },
  })
  const response = await get(stack, '/v1/workspace/download?path=Office/notes.txt')
  assert.equal(response.status, 409)
  const body = await problem(response)
  assert.equal(body.code, 'reconnect_required')
  assert.match(body.detail, /files\.content\.read/)
  // The grant lacks a scope the deployment asks for: the connection is marked, and every
  // operation and GET /v1/connection agree until the user reconnects (contract §5).
  const meta = await get(stack, '/v1/workspace/metadata?path=Office/notes.txt')
  assert.equal(meta.status, 409)
  assert.equal((await problem(meta)).code, 'reconnect_required')
  const status = (await (await stack.api('user-1', 'GET', '/v1/connection')).json()) as {
    status: string
    reason?: string
  }
  assert.deepEqual([status.status, status.reason], ['reconnect_required', 'missing_scope'])
})

test('download: an upstream reset mid-body cuts the response short and is logged', async (t) => {
  const stack = await connected(t)
  stack.emulator.injectFault(DOWNLOAD, { kind: 'reset_mid_body', afterBytes: 300_000 })
  const response = await get(stack, '/v1/workspace/download?path=Photos/beach.jpg')
  assert.equal(response.status, 200)
  assert.equal(response.headers.get('content-length'), '2097152')
  let received = 0
  await assert.rejects(async () => {
    for await (const chunk of response.body as ReadableStream<Uint8Array>) received += chunk.length
  })
  assert.ok(received <= 300_000, `received ${received}`)
  assert.equal(upstreamCalls(stack, DOWNLOAD).length, 1, 'never retried after the first byte')
  const deadline = Date.now() + 2000
  while (!stack.logs.text.includes('download_interrupted') && Date.now() < deadline) await sleep(20)
  const line = stack.logs.parsed().find((entry) => entry.event === 'download_interrupted')
  assert.ok(line, 'the interruption is logged')
  assert.equal(line.level, 40)
})

test('download: a caller that disconnects cancels the upstream request at once', async (t) => {
  // The emulator hashes a new file once (content_hash), in this process: allow it the time.
  const stack = await connected(t, { env: { UPSTREAM_TIMEOUT_MS: '60000' } })
  stack.emulator.addFiles(ALICE, [{ path: '/Big/huge.bin', type: 'file', size: 64 * 2 ** 20 }])
  stack.emulator.resetCounters()
  const abort = new AbortController()
  const response = await get(stack, '/v1/workspace/download?path=Big/huge.bin', {}, abort.signal)
  assert.equal(response.status, 200)
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  await reader.read()
  abort.abort()
  const deadline = Date.now() + 3000
  let streamed = upstreamCalls(stack, DOWNLOAD)[0]?.streamed
  while (streamed?.end !== 'cancelled' && Date.now() < deadline) {
    await sleep(20)
    streamed = upstreamCalls(stack, DOWNLOAD)[0]?.streamed
  }
  assert.equal(streamed?.end, 'cancelled')
  assert.ok((streamed?.bytes ?? 0) < 32 * 2 ** 20, `sent ${streamed?.bytes} bytes only`)
})

test('download: a caller that leaves before the answer cancels the waiting upstream call', async (t) => {
  const stack = await connected(t)
  // Long enough that the caller surely leaves while the emulator still holds the answer back.
  stack.emulator.injectFault(DOWNLOAD, { kind: 'delay', ms: 2_000 })
  const abort = new AbortController()
  const pending = get(stack, '/v1/workspace/download?path=Office/notes.txt', {}, abort.signal)
  // Leave once the upstream call is under way (a fixed sleep was too short on a loaded machine).
  for (
    let waited = 0;
    upstreamCalls(stack, DOWNLOAD).length === 0 && waited < 1_500;
    waited += 10
  ) {
    await sleep(10)
  }
  abort.abort()
  await assert.rejects(pending)
  await sleep(2_500)
  const calls = upstreamCalls(stack, DOWNLOAD)
  assert.equal(calls.length, 1, 'no retry after the caller left')
  assert.notEqual(calls[0]?.streamed?.end, 'complete')
  assert.ok(!stack.logs.text.includes('"level":50'), 'no error logged')
})
