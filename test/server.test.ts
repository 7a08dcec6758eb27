import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { tempDir, testEnv } from './helper.ts'
import { freePort, startProcess, waitForHttp } from './process.ts'

const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME }

test('the server starts from the environment, serves probes and exits 0 on SIGTERM', async (t) => {
  const dir = await tempDir(t)
  const port = await freePort()
  const internalPort = await freePort()
  const server = startProcess(['src/server.ts'], {
    ...baseEnv,
    ...testEnv({
      PORT: String(port),
      INTERNAL_PORT: String(internalPort),
      HOST: '127.0.0.1',
      DATABASE_PATH: join(dir, 'db', 'connector.db'),
    }),
  })
  t.after(() => server.child.kill('SIGKILL'))
  const publicUrl = `http://127.0.0.1:${port}`
  const internalUrl = `http://127.0.0.1:${internalPort}`
  const health = await waitForHttp(`${publicUrl}/healthz`)
  assert.equal(health.status, 200)
  await waitForHttp(`${internalUrl}/healthz`)
  // Contract §5: probes on both; /v1, metrics and docs only inside; the browser steps only outside.
  for (const base of [publicUrl, internalUrl]) {
    assert.equal((await fetch(`${base}/readyz`)).status, 200, base)
  }
  for (const path of ['/v1/me', '/v1/connection', '/metrics', '/docs', '/openapi.json']) {
    const outside = await fetch(`${publicUrl}${path}`)
    assert.equal(outside.status, 404, `public ${path}`)
    assert.notEqual((await fetch(`${internalUrl}${path}`)).status, 404, `internal ${path}`)
  }
  assert.equal((await fetch(`${internalUrl}/connect?token=x`)).status, 404)
  assert.equal((await fetch(`${publicUrl}/connect?token=x`)).status, 400)
  server.child.kill('SIGTERM')
  assert.deepEqual(await server.exited, { code: 0, signal: null })
  assert.match(server.output(), /"msg":"shut down cleanly"/)
  assert.match(server.output(), /IDENTITY_CALLERS is not set/)
})

test('INTERNAL_PORT equal to PORT serves everything on one listener', async (t) => {
  const dir = await tempDir(t)
  const port = await freePort()
  const server = startProcess(['src/server.ts'], {
    ...baseEnv,
    ...testEnv({
      PORT: String(port),
      INTERNAL_PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_PATH: join(dir, 'connector.db'),
    }),
  })
  t.after(() => server.child.kill('SIGKILL'))
  const base = `http://127.0.0.1:${port}`
  await waitForHttp(`${base}/healthz`)
  assert.equal((await fetch(`${base}/metrics`)).status, 200)
  assert.equal((await fetch(`${base}/v1/me`)).status, 401)
  assert.equal((await fetch(`${base}/connect?token=x`)).status, 400)
  server.child.kill('SIGTERM')
  assert.deepEqual(await server.exited, { code: 0, signal: null })
})

test('a bad environment prints every problem and exits 1', async () => {
  const server = startProcess(['src/server.ts'], { ...baseEnv, PORT: 'x', VAULT_KEYS: 'k:short' })
  assert.deepEqual(await server.exited, { code: 1, signal: null })
  assert.equal(
    server.output(),
    [
      'cloud-connector: Invalid configuration:',
      '  - VAULT_KEYS key "k" must be base64 of exactly 32 bytes',
      '  - IDENTITY_JWKS is required',
      '  - PORT must be an integer from 0 to 65535 (got "x")',
      '  - IDENTITY_ISSUER is required',
      '  - DROPBOX_APP_KEY is required',
      '  - DROPBOX_APP_SECRET is required',
      '  - CONNECT_RETURN_URL is required',
      '',
    ].join('\n'),
  )
})
