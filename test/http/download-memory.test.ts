/**
 * A 1 GiB download through the connector in constant memory (contract §5): the emulator, the
 * connector and the reading client share this process, so the RSS measured here bounds all
 * three together. Contract target: growth under 64 MB.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Agent, request } from 'undici'
import { STANDARD_ACCOUNTS } from '../../emulator/index.ts'
import { startStack } from '../stack.ts'

const ALICE = STANDARD_ACCOUNTS.find((a) => a.email === 'alice@example.com')?.accountId as string
const GIB = 2 ** 30
const MAX_GROWTH = 64 * 2 ** 20

test('a 1 GiB download streams through with RSS growth under 64 MB', {
  timeout: 300_000,
}, async (t) => {
  const client = new Agent()
  t.after(() => client.destroy())
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ALICE)).status, 200)
  stack.emulator.addFiles(ALICE, [{ path: '/Big/one-gib.bin', type: 'file', size: GIB }])
  // Warm the path once (JIT, pools, buffers) so the baseline is the steady state.
  const warm = await request(`${stack.baseUrl}/v1/workspace/download?path=Office/notes.txt`, {
    headers: { 'x-identity-assertion': await stack.assertionFor('user-1') },
    dispatcher: client,
  })
  await warm.body.dump()
  globalThis.gc?.()
  const baseline = process.memoryUsage().rss
  let peak = baseline
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  const started = performance.now()
  const response = await request(`${stack.baseUrl}/v1/workspace/download?path=Big/one-gib.bin`, {
    headers: { 'x-identity-assertion': await stack.assertionFor('user-1') },
    dispatcher: client,
  })
  assert.equal(response.statusCode, 200)
  assert.equal(response.headers['content-length'], String(GIB))
  let received = 0
  for await (const chunk of response.body) received += (chunk as Buffer).length
  clearInterval(sampler)
  peak = Math.max(peak, process.memoryUsage().rss)
  const seconds = (performance.now() - started) / 1000
  const growth = peak - baseline
  t.diagnostic(
    `1 GiB in ${seconds.toFixed(1)} s (${(GIB / 2 ** 20 / seconds).toFixed(0)} MiB/s); ` +
      `RSS ${(baseline / 2 ** 20).toFixed(0)} MiB → peak ${(peak / 2 ** 20).toFixed(0)} MiB ` +
      `(growth ${(growth / 2 ** 20).toFixed(1)} MiB)`,
  )
  assert.equal(received, GIB)
  assert.ok(growth < MAX_GROWTH, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`)
})
