import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CloudError, upstreamUnavailable } from '../../src/cloud/errors.ts'
import { callWithRetries } from '../../src/cloud/upstream-policy.ts'

const policy = { deadlineMs: 2000, maxAttempts: 4, baseDelayMs: 5, random: () => 1 }

test('retries upstream_unavailable up to maxAttempts, then gives up with it', async () => {
  let attempts = 0
  await assert.rejects(
    callWithRetries(policy, async () => {
      attempts++
      throw upstreamUnavailable()
    }),
    (error: unknown) => error instanceof CloudError && error.code === 'upstream_unavailable',
  )
  assert.equal(attempts, 4)
})

test('a success after failures is returned', async () => {
  let attempts = 0
  const value = await callWithRetries(policy, async () => {
    attempts++
    if (attempts < 3) throw upstreamUnavailable()
    return 'ok'
  })
  assert.equal(value, 'ok')
  assert.equal(attempts, 3)
})

test('other errors are not retried', async () => {
  let attempts = 0
  await assert.rejects(
    callWithRetries(policy, async () => {
      attempts++
      throw new CloudError('upstream_rate_limited', 'slow down', { retryAfterSeconds: 3 })
    }),
    /slow down/,
  )
  assert.equal(attempts, 1)
})

test('the deadline covers retries and ends in upstream_timeout', async () => {
  const started = performance.now()
  await assert.rejects(
    callWithRetries(
      { ...policy, deadlineMs: 150 },
      (signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(new Error('aborted')))
        }),
    ),
    (error: unknown) => error instanceof CloudError && error.code === 'upstream_timeout',
  )
  assert.ok(performance.now() - started < 1000)
})

test('the deadline aborts with a TimeoutError, and ends with the call', async () => {
  let reason: unknown
  await assert.rejects(
    callWithRetries(
      { ...policy, deadlineMs: 50 },
      (signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            reason = signal.reason
            reject(signal.reason)
          })
        }),
    ),
    (error: unknown) => error instanceof CloudError && error.code === 'upstream_timeout',
  )
  assert.equal((reason as Error).name, 'TimeoutError')

  // A finished call leaves no timer behind to abort a signal someone still holds.
  let kept: AbortSignal | undefined
  await callWithRetries({ ...policy, deadlineMs: 50 }, async (signal) => {
    kept = signal
    return 'ok'
  })
  await new Promise((resolve) => setTimeout(resolve, 120))
  assert.equal(kept?.aborted, false)
})
