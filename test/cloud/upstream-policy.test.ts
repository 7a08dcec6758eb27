import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Deadline } from '../../src/cloud/deadline.ts'
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
      (deadline) =>
        new Promise((_resolve, reject) => {
          deadline.watch(() => reject(new Error('aborted')))
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
      (deadline) =>
        new Promise((_resolve, reject) => {
          deadline.watch(() => {
            reason = deadline.reason
            reject(deadline.reason)
          })
        }),
    ),
    (error: unknown) => error instanceof CloudError && error.code === 'upstream_timeout',
  )
  assert.equal((reason as Error).name, 'TimeoutError')

  // A finished call leaves no timer behind to abort a signal someone still holds.
  let kept: Deadline | undefined
  await callWithRetries({ ...policy, deadlineMs: 50 }, async (deadline) => {
    kept = deadline
    return 'ok'
  })
  const keptSignal = kept?.signal
  await new Promise((resolve) => setTimeout(resolve, 120))
  assert.equal(kept?.aborted, false)
  assert.equal(keptSignal?.aborted, false)
})
