/**
 * One load phase: autocannon's programmatic API at a fixed concurrency for a fixed time.
 * Latencies are recorded here from autocannon's `response` events, in fractional
 * milliseconds: its own histogram keeps whole milliseconds, too coarse for p99 ratios.
 */
import autocannon from 'autocannon'

export interface LoadSpec {
  url: string
  path: string
  connections: number
  durationSeconds: number
  /** Headers for the next request (called once per request). */
  nextHeaders?: () => Record<string, string>
}

export interface LoadResult {
  requests: number
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  meanMs: number
  /** Non-2xx answers, socket errors and timeouts: any of them makes the phase invalid. */
  failures: number
  statusCodes: Record<string, number>
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies = new Float64Array(4_000_000)
  let count = 0
  const statusCodes: Record<string, number> = {}
  const next = spec.nextHeaders
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        duration: spec.durationSeconds,
        timeout: 10,
        requests: [
          {
            method: 'GET',
            path: spec.path,
            ...(next ? { setupRequest: (request) => ({ ...request, headers: next() }) } : {}),
          },
        ],
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    )
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (count < latencies.length) latencies[count++] = responseTime
      const key = String(statusCode)
      statusCodes[key] = (statusCodes[key] ?? 0) + 1
    })
  })
  const sorted = latencies.subarray(0, count).sort()
  let sum = 0
  for (const value of sorted) sum += value
  const ok = Object.entries(statusCodes)
    .filter(([code]) => code.startsWith('2'))
    .reduce((total, [, n]) => total + n, 0)
  return {
    requests: count,
    requestsPerSecond: ok / result.duration,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    meanMs: count ? sum / count : 0,
    failures: result.non2xx + result.errors + result.timeouts,
    statusCodes,
  }
}

export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[index] as number
}
