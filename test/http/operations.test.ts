import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildTestApp } from '../helper.ts'

test('GET /healthz answers ok without touching anything external', async (t) => {
  let checked = false
  const { app } = await buildTestApp(t, {
    deps: {
      readinessChecks: [
        {
          name: 'database',
          check: async () => {
            checked = true
          },
        },
      ],
    },
  })
  const response = await app.inject({ method: 'GET', url: '/healthz' })
  assert.equal(response.statusCode, 200)
  assert.deepEqual(response.json(), { status: 'ok' })
  assert.equal(checked, false)
})

test('GET /readyz reports each check, and 503 when one fails', async (t) => {
  let databaseUp = true
  const { app } = await buildTestApp(t, {
    deps: {
      readinessChecks: [
        {
          name: 'database',
          check: async () => {
            if (!databaseUp) throw new Error('database does not answer')
          },
        },
        { name: 'vault', check: async () => {} },
      ],
    },
  })
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  assert.equal(ready.statusCode, 200)
  assert.equal(ready.headers['cache-control'], 'no-store')
  assert.deepEqual(ready.json(), { status: 'ready', checks: { database: 'ok', vault: 'ok' } })

  databaseUp = false
  const down = await app.inject({ method: 'GET', url: '/readyz' })
  assert.equal(down.statusCode, 503)
  assert.deepEqual(down.json(), {
    status: 'unavailable',
    checks: { database: 'database does not answer', vault: 'ok' },
  })
})

test('GET /readyz turns 503 once shutdown starts', async (t) => {
  let duringClose: { status: number; body: unknown } | undefined
  const { app } = await buildTestApp(t, {
    extraRoutes: (instance) =>
      instance.addHook('preClose', async () => {
        const response = await fetch(url())
        const other = await fetch(url().replace('/readyz', '/metrics'))
        duringClose = { status: response.status, body: await response.json() }
        assert.equal(other.status, 503)
        assert.equal(other.headers.get('connection'), 'close')
        assert.equal(((await other.json()) as { code: string }).code, 'shutting_down')
      }),
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = () => `http://127.0.0.1:${(app.server.address() as { port: number }).port}/readyz`
  assert.equal((await fetch(url())).status, 200)
  await app.close()
  assert.deepEqual(duringClose, {
    status: 503,
    body: {
      status: 'unavailable',
      checks: { database: 'ok', vault: 'ok', lifecycle: 'shutting down' },
    },
  })
})

test('GET /metrics exposes request durations by route pattern and status', async (t) => {
  const { app } = await buildTestApp(t)
  await app.inject({ method: 'GET', url: '/healthz?probe=1' })
  await app.inject({ method: 'GET', url: '/no/such/route' })
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  assert.equal(response.statusCode, 200)
  assert.match(response.headers['content-type'] as string, /^text\/plain/)
  assert.match(
    response.body,
    /http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200",caller=""\} 1/,
  )
  assert.match(
    response.body,
    /http_request_duration_seconds_count\{method="GET",route="\(unmatched\)",status_code="404",caller=""\} 1/,
  )
  assert.match(response.body, /# TYPE upstream_calls_total counter/)
  assert.match(response.body, /# TYPE token_refreshes_total counter/)
})

test('GET /docs renders the UI and GET /openapi.json serves the document', async (t) => {
  const { app } = await buildTestApp(t)
  const docs = await app.inject({ method: 'GET', url: '/docs/' })
  assert.equal(docs.statusCode, 200)
  assert.match(docs.headers['content-type'] as string, /text\/html/)
  assert.match(docs.body, /swagger-ui/i)
  const openapi = await app.inject({ method: 'GET', url: '/openapi.json' })
  assert.equal(openapi.statusCode, 200)
  assert.equal(openapi.json().openapi, '3.1.0')
  assert.ok(openapi.json().paths['/healthz'])
})
