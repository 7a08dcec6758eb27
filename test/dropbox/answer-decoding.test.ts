/**
 * Dropbox's answers are decoded inside the upstream call (the parsed body is never a promise's
 * value, docs/performance.md): an answer the mappers refuse is therefore counted as
 * `malformed`, not `ok`, answered 502 `upstream_error`, and not retried. And a transport
 * response's body reads once, as fetch's does, so a read lets go of it.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { createDropboxTransport } from '../../src/dropbox/transport.ts'
import { dropboxInFront } from '../dropbox-in-front.ts'
import { startStack } from '../stack.ts'

test('a listing of the wrong shape: 502 upstream_error, counted as malformed, sent once', async (t) => {
  let emulatorUrl = ''
  let wrongShape = false
  const api = await dropboxInFront(
    () => emulatorUrl,
    ({ path, status, body }) =>
      wrongShape && path === '/2/files/list_folder' && status === 200
        ? Buffer.from(JSON.stringify({ entries: 'not a list', cursor: 'c', has_more: false }))
        : body,
  )
  t.after(() => api.close())
  const stack = await startStack(t, { env: { DROPBOX_API_BASE_URL: api.url } })
  emulatorUrl = stack.emulator.url
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  assert.equal((await stack.api('user-1', 'GET', '/v1/workspace/list')).status, 200)

  wrongShape = true
  stack.emulator.resetCounters()
  const refused = await stack.api('user-1', 'GET', '/v1/workspace/list')
  assert.equal(refused.status, 502)
  assert.equal(((await refused.json()) as { code: string }).code, 'upstream_error')
  const sent = stack.emulator.counters().calls.filter((c) => c.route === '/2/files/list_folder')
  assert.equal(sent.length, 1, 'an answer that will not improve is not asked for again')

  const metrics = await (await fetch(`${stack.internalUrl}/metrics`)).text()
  assert.match(
    metrics,
    /upstream_calls_total\{operation="files\/list_folder",outcome="malformed"\} 1\n/,
  )
  // The good listing before it, and nothing for the refused one.
  assert.match(metrics, /upstream_calls_total\{operation="files\/list_folder",outcome="ok"\} 1\n/)
})

test("a transport response's body reads once, as fetch's does", async (t) => {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end('{"answer":42}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const transport = createDropboxTransport(
    `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  )
  t.after(async () => {
    await transport.close()
    await new Promise((resolve) => server.close(resolve))
  })
  const url = `${transport.apiBaseUrl}/2/anything`

  const taken = await transport.fetch(url, { method: 'POST' })
  assert.equal(taken.takeText(), '{"answer":42}')
  assert.throws(() => taken.takeText(), { name: 'TypeError', message: /already been read/ })
  await assert.rejects(taken.text(), { name: 'TypeError' })
  await assert.rejects(taken.json(), { name: 'TypeError' })

  const parsed = await transport.fetch(url, { method: 'POST' })
  assert.deepEqual(await parsed.json(), { answer: 42 })
  await assert.rejects(parsed.text(), { name: 'TypeError' })
})
