import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { tempDir, testEnv } from './helper.ts'
import { freePort, startProcess, waitForHttp } from './process.ts'

const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME }

test('the server starts from the environment, serves probes and exits 0 on SIGTERM', async (t) => {
  const dir = await tempDir(t)
  const port = await freePort()
  const server = startProcess(['src/server.ts'], {
    ...baseEnv,
    ...testEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_PATH: join(dir, 'db', 'connector.db'),
    }),
  })
  t.after(() => server.child.kill('SIGKILL'))
  const health = await waitForHttp(`http://127.0.0.1:${port}/healthz`)
  assert.equal(health.status, 200)
  assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200)
  server.child.kill('SIGTERM')
  assert.deepEqual(await server.exited, { code: 0, signal: null })
  assert.match(server.output(), /"msg":"shut down cleanly"/)
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
