/**
 * The lazy compilers must be invisible to callers: the same validation errors and the same
 * serialized bodies as Fastify's defaults, compiled on first use or by the warm-up, never twice.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { createLazySchemaCompilers } from '../../src/http/lazy-schema-compilers.ts'

function withRoutes(app: FastifyInstance): FastifyInstance {
  app.post(
    '/items',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', minLength: 1 }, count: { type: 'integer' } },
        },
        response: {
          200: {
            type: 'object',
            properties: { name: { type: 'string' }, count: { type: 'integer' } },
          },
        },
      },
    },
    // The serializer drops `secret`: the response schema is applied, not JSON.stringify.
    async (request) => ({ ...(request.body as object), secret: 'not in the schema' }),
  )
  app.get(
    '/other',
    { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } },
    async () => 'ok',
  )
  return app
}

const [VALID, EMPTY_NAME] = [
  { method: 'POST' as const, url: '/items', payload: { name: 'a', count: 2 } },
  { method: 'POST' as const, url: '/items', payload: { name: '' } },
]
const REQUESTS = [
  VALID,
  EMPTY_NAME,
  { method: 'POST' as const, url: '/items', payload: { count: 'x' } },
  { method: 'POST' as const, url: '/items', payload: { name: 'a', extra: true } },
  { method: 'GET' as const, url: '/other?n=nope' },
]

test('answers, validation errors and serialized bodies are those of the default compilers', async (t) => {
  const reference = withRoutes(Fastify())
  const compilers = createLazySchemaCompilers()
  const lazy = withRoutes(
    Fastify({ schemaController: { compilersFactory: compilers.compilersFactory } }),
  )
  t.after(() => Promise.all([reference.close(), lazy.close()]))
  await Promise.all([reference.ready(), lazy.ready()])

  for (const request of REQUESTS) {
    const [expected, actual] = await Promise.all([reference.inject(request), lazy.inject(request)])
    assert.equal(actual.statusCode, expected.statusCode, request.url)
    assert.equal(actual.body, expected.body, JSON.stringify(request.payload ?? request.url))
  }
  assert.doesNotMatch((await lazy.inject(VALID)).body, /secret/)
})

test('nothing compiles before use; the warm-up compiles the rest once and stops when told', async (t) => {
  const compilers = createLazySchemaCompilers()
  const app = withRoutes(
    Fastify({ schemaController: { compilersFactory: compilers.compilersFactory } }),
  )
  t.after(() => app.close())
  await app.ready()
  const atReady = compilers.pending()
  assert.ok(atReady >= 4, `${atReady} pending at ready`)

  await app.inject(VALID)
  const afterOne = compilers.pending()
  assert.ok(afterOne < atReady, 'the used route compiled on first use')

  assert.equal(await compilers.warmUp(() => true), 0)
  assert.equal(compilers.pending(), afterOne, 'a stopped warm-up compiles nothing')
  assert.equal(await compilers.warmUp(), afterOne, 'the warm-up counts what it compiled')
  assert.equal(compilers.pending(), 0)
  assert.equal(await compilers.warmUp(), 0, 'nothing is compiled twice')
  assert.equal((await app.inject(EMPTY_NAME)).statusCode, 400)
})

test('a broken schema fails the warm-up loudly', async (t) => {
  const compilers = createLazySchemaCompilers()
  const app = Fastify({ schemaController: { compilersFactory: compilers.compilersFactory } })
  t.after(() => app.close())
  app.get('/broken', { schema: { querystring: { type: 'no-such-type' } } }, async () => 'never')
  await app.ready()
  await assert.rejects(compilers.warmUp(), /no-such-type|type must be/)
})
