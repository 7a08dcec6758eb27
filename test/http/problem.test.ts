import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { ServiceError } from '../../src/errors.ts'
import { buildTestApp } from '../helper.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'

function probeRoutes(app: FastifyInstance) {
  app.get(
    '/probe/validated',
    { schema: { querystring: Type.Object({ limit: Type.Integer({ minimum: 1 }) }) } },
    async () => ({}),
  )
  app.post(
    '/probe/body',
    { schema: { body: Type.Object({ name: Type.String() }) } },
    async () => ({}),
  )
  app.get('/probe/crash', async () => {
    throw new Error('database password is hunter2')
  })
  app.get('/probe/rate-limited', async () => {
    throw new ServiceError('upstream_rate_limited', 'Dropbox asks to slow down.', {
      retryAfterSeconds: 7,
    })
  })
  app.get('/probe/internal', async () => {
    throw new ServiceError('internal_error', 'vault row 42 failed its binding check')
  })
}

test('an unknown route is a problem+json 404', async (t) => {
  const { app } = await buildTestApp(t)
  const response = await app.inject({ method: 'GET', url: '/v1/nothing' })
  assert.equal(response.statusCode, 404)
  assert.equal(response.headers['content-type'], PROBLEM)
  assert.deepEqual(response.json(), {
    type: 'https://cloud-connector.dev/problems/not-found',
    title: 'Not found',
    status: 404,
    detail: 'No route for GET on this path.',
    code: 'not_found',
  })
})

test('schema validation failures are 400 invalid_request naming the field', async (t) => {
  const { app } = await buildTestApp(t, { extraRoutes: probeRoutes })
  const low = await app.inject({ method: 'GET', url: '/probe/validated?limit=0' })
  assert.equal(low.statusCode, 400)
  assert.equal(low.headers['content-type'], PROBLEM)
  assert.equal(low.json().code, 'invalid_request')
  assert.equal(low.json().detail, 'querystring.limit: must be >= 1')
  const missing = await app.inject({ method: 'GET', url: '/probe/validated' })
  assert.equal(missing.json().detail, "querystring.limit: must have required property 'limit'")
  const body = await app.inject({
    method: 'POST',
    url: '/probe/body',
    payload: { name: { nested: true } },
  })
  assert.equal(body.json().detail, 'body.name: must be string')
})

test('malformed JSON and unsupported media types are problem+json 4xx', async (t) => {
  const { app } = await buildTestApp(t, { extraRoutes: probeRoutes })
  const broken = await app.inject({
    method: 'POST',
    url: '/probe/body',
    headers: { 'content-type': 'application/json' },
    payload: '{"name":',
  })
  assert.equal(broken.statusCode, 400)
  assert.equal(broken.headers['content-type'], PROBLEM)
  assert.equal(broken.json().code, 'invalid_request')
  const xml = await app.inject({
    method: 'POST',
    url: '/probe/body',
    headers: { 'content-type': 'application/xml' },
    payload: '<a/>',
  })
  assert.equal(xml.statusCode, 415)
  assert.equal(xml.json().code, 'invalid_request')
  const huge = await app.inject({
    method: 'POST',
    url: '/probe/body',
    payload: { name: 'x'.repeat(100_000) },
  })
  assert.equal(huge.statusCode, 413)
  assert.equal(huge.json().code, 'invalid_request')
})

test('unexpected errors are a masked 500; the detail goes to the log only', async (t) => {
  const { app, logs } = await buildTestApp(t, { extraRoutes: probeRoutes })
  for (const url of ['/probe/crash', '/probe/internal']) {
    const response = await app.inject({ method: 'GET', url })
    assert.equal(response.statusCode, 500)
    assert.deepEqual(response.json(), {
      type: 'https://cloud-connector.dev/problems/internal-error',
      title: 'Internal error',
      status: 500,
      detail: 'Internal error.',
      code: 'internal_error',
    })
  }
  assert.match(logs.text, /request failed/)
})

test('service errors keep their code and forward Retry-After', async (t) => {
  const { app } = await buildTestApp(t, { extraRoutes: probeRoutes })
  const response = await app.inject({ method: 'GET', url: '/probe/rate-limited' })
  assert.equal(response.statusCode, 429)
  assert.equal(response.headers['retry-after'], '7')
  assert.deepEqual(response.json(), {
    type: 'https://cloud-connector.dev/problems/upstream-rate-limited',
    title: 'Upstream rate limited',
    status: 429,
    detail: 'Dropbox asks to slow down.',
    code: 'upstream_rate_limited',
  })
})
