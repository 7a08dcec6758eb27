/**
 * Bounded, jittered retries for read-only upstream calls inside one deadline (contract §6).
 * Only `upstream_unavailable` (5xx, connection failure) is retried: a 4xx will not improve,
 * and a 429 is the caller's to wait out (its Retry-After is forwarded).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Deadline } from './deadline.ts'
import { CloudError, upstreamTimeout } from './errors.ts'

export interface RetryPolicy {
  /** The whole call, retries included (`UPSTREAM_TIMEOUT_MS`). */
  deadlineMs: number
  maxAttempts: number
  baseDelayMs: number
  random?: () => number
}

export function defaultRetryPolicy(deadlineMs: number): RetryPolicy {
  return { deadlineMs, maxAttempts: 4, baseDelayMs: 100 }
}

function isRetryable(error: unknown): boolean {
  return error instanceof CloudError && error.code === 'upstream_unavailable'
}

export async function callWithRetries<T>(
  policy: RetryPolicy,
  run: (deadline: Deadline) => Promise<T>,
): Promise<T> {
  const deadline = new Deadline(policy.deadlineMs)
  const startedAt = performance.now()
  const random = policy.random ?? Math.random
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run(deadline)
      } catch (error) {
        if (deadline.aborted) throw upstreamTimeout()
        if (!isRetryable(error) || attempt >= policy.maxAttempts) throw error
        // Full jitter (AWS architecture blog): spreads retries of many callers apart.
        const delay = random() * policy.baseDelayMs * 2 ** (attempt - 1)
        if (performance.now() - startedAt + delay >= policy.deadlineMs) throw error
        try {
          await sleep(delay, undefined, { signal: deadline.signal })
        } catch {
          throw upstreamTimeout()
        }
      }
    }
  } finally {
    deadline.clear()
  }
}
