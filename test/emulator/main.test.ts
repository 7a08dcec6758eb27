/** `npm run emulator`: starts from the environment, prints what it serves, stops on SIGTERM. */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ACCOUNT_IDS } from '../../emulator/index.ts'

const MAIN = fileURLToPath(new URL('../../emulator/main.ts', import.meta.url))

test('main.ts serves the configured app and exits 0 on SIGTERM', async (t) => {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      EMULATOR_PORT: '0',
      EMULATOR_CONTENT_PORT: '0',
      EMULATOR_APP_KEY: 'demo-key',
      EMULATOR_APP_SECRET: 'demo-secret',
      EMULATOR_REDIRECT_URIS: 'http://localhost:3000/cb, http://localhost:8080/connect/callback',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.after(() => child.kill('SIGKILL'))
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const deadline = Date.now() + 10_000
  while (!output.includes('Accounts:') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50))
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]
  assert.ok(url, output)
  assert.ok(output.includes('App: key demo-key, secret (from EMULATOR_APP_SECRET)'), output)
  assert.ok(!output.includes('demo-secret'))
  assert.ok(
    output.includes(
      'redirect URIs: http://localhost:3000/cb, http://localhost:8080/connect/callback',
    ),
  )
  assert.ok(
    output.includes(
      `${ACCOUNT_IDS.carol}  Carol Example <carol@example.com>  team space, root 3000, home 3001`,
    ),
    output,
  )

  const state = (await (await fetch(`${url}/__emulator/state`)).json()) as {
    apps: Array<{ appKey: string; redirectUris: string[]; scopes: string[] }>
  }
  assert.deepEqual(state.apps, [
    {
      appKey: 'demo-key',
      redirectUris: ['http://localhost:3000/cb', 'http://localhost:8080/connect/callback'],
      scopes: state.apps[0]?.scopes ?? [],
    },
  ])

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  assert.equal(code, 0)
})
