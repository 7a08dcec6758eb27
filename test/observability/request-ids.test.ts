import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createRequestIds } from '../../src/observability/request-ids.ts'
import { buildTestApp } from '../helper.ts'

const ID = /^[A-Za-z0-9_-]{12}-[0-9a-z]+$/

test('request ids are a per-process random prefix and a counter, never repeated', () => {
  const next = createRequestIds()
  const ids = Array.from({ length: 50_000 }, next)
  assert.equal(new Set(ids).size, ids.length)
  for (const id of [ids[0], ids.at(-1)]) assert.match(id as string, ID)
  const prefix = (id: string) => id.split('-').slice(0, -1).join('-')
  assert.equal(prefix(ids[0] as string), prefix(ids.at(-1) as string))
  // Another process (or a restart) draws another prefix, so replicas' ids stay apart.
  assert.notEqual(prefix(createRequestIds()()), prefix(ids[0] as string))
  assert.equal((ids.at(-1) as string).split('-').at(-1), (50_000).toString(36))
})

test('each request completed line carries its own request id', async (t) => {
  const { app, logs } = await buildTestApp(t)
  for (let i = 0; i < 3; i++) await app.inject({ method: 'GET', url: '/healthz' })
  const ids = logs
    .parsed()
    .filter((line) => line.msg === 'request completed')
    .map((line) => line.reqId as string)
  assert.equal(ids.length, 3)
  assert.equal(new Set(ids).size, 3)
  for (const id of ids) assert.match(id, ID)
})
