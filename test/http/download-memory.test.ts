/**
 * A 1 GiB download through the connector in constant memory (contract §5). The connector runs
 * as deployed (`node src/server.ts`, its own process) so its RSS, read from /proc while the
 * bytes flow, is its own; the emulator and the reading client live in this process.
 * Contract target: growth under 64 MB.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Agent, request } from 'undici'
import { STANDARD_ACCOUNTS, startEmulator } from '../../emulator/index.ts'
import { createIdentityKeys } from '../fixtures/identity.ts'
import { freePort } from '../process.ts'
import { Browser } from '../stack.ts'

// The connector from its sources (`node src/server.ts`), not the bench's build output.
process.env.BENCH_CONNECTOR_ENTRY ??= 'src/server.ts'
const { BENCH_APP, rssOf, startConnector } = await import('../../bench/processes.ts')

const ALICE = STANDARD_ACCOUNTS.find((a) => a.email === 'alice@example.com')?.accountId as string
const GIB = 2 ** 30
const MIB = 2 ** 20
const MAX_GROWTH = 64 * MIB

test('a 1 GiB download: connector RSS grows by less than 64 MB', {
  timeout: 300_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cc-download-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const emulator = await startEmulator({
    apps: [
      {
        appKey: BENCH_APP.key,
        appSecret: BENCH_APP.secret,
        redirectUris: [`${base}/connect/callback`],
      },
    ],
  })
  t.after(() => emulator.close())
  const keys = await createIdentityKeys()
  const connector = await startConnector({
    port,
    emulatorUrl: emulator.url,
    jwks: keys.jwks,
    dir,
    // The emulator hashes a new file's content once (content_hash), blocking this process.
    env: {
      DROPBOX_CONTENT_BASE_URL: emulator.contentUrl,
      LOG_LEVEL: 'warn',
      UPSTREAM_TIMEOUT_MS: '120000',
    },
  })
  t.after(() => connector.stop())
  const client = new Agent()
  t.after(() => client.destroy())
  const assertion = async () => {
    const iat = Math.floor(Date.now() / 1000)
    return keys.sign({ sub: 'user-1', iat, exp: iat + 300 })
  }
  // /v1 is on the connector's internal listener; the browser steps on the public one (base).
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) =>
    request(`${connector.url}${path}`, {
      method,
      headers: {
        'x-identity-assertion': await assertion(),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: client,
    })

  const created = await call('POST', '/v1/connect/sessions')
  const session = (await created.body.json()) as { id: string; connect_url: string }
  const browser = new Browser()
  const toDropbox = await browser.get(session.connect_url)
  const back = await emulator.consent(toDropbox.headers.get('location') as string, {
    accountId: ALICE,
    decision: 'allow',
  })
  const returned = await browser.get(back)
  const completion = new URL(returned.headers.get('location') as string).searchParams.get(
    'completion',
  )
  const completed = await call('POST', `/v1/connect/sessions/${session.id}/complete`, {
    completion,
  })
  await completed.body.dump()
  assert.equal(completed.statusCode, 200)
  emulator.addFiles(ALICE, [{ path: '/Big/one-gib.bin', type: 'file', size: GIB }])

  const meta = await call('GET', '/v1/workspace/metadata?path=Big/one-gib.bin')
  assert.equal(meta.statusCode, 200, 'hashes the file once, before the measurement')
  await meta.body.dump()
  // Warm the download path once (JIT, pools), so the baseline is the steady state.
  const warm = await call('GET', '/v1/workspace/download?path=Photos/beach.jpg')
  await warm.body.dump({ limit: 4 * MIB })
  const baseline = await rssOf(connector.pid)
  let peak = baseline
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rssOf(connector.pid))
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  const started = performance.now()
  const response = await call('GET', '/v1/workspace/download?path=Big/one-gib.bin')
  assert.equal(response.statusCode, 200)
  assert.equal(response.headers['content-length'], String(GIB))
  let received = 0
  for await (const chunk of response.body) received += (chunk as Buffer).length
  sampling = false
  await sampler
  const seconds = (performance.now() - started) / 1000
  const growth = peak - baseline
  t.diagnostic(
    `1 GiB in ${seconds.toFixed(1)} s (${(GIB / MIB / seconds).toFixed(0)} MiB/s); connector RSS ` +
      `${(baseline / MIB).toFixed(0)} MiB → peak ${(peak / MIB).toFixed(0)} MiB (growth ${(growth / MIB).toFixed(1)} MiB)`,
  )
  assert.equal(received, GIB)
  assert.ok(growth < MAX_GROWTH, `connector RSS grew by ${(growth / MIB).toFixed(1)} MiB`)
})
