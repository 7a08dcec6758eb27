/**
 * One load phase: autocannon's programmatic API at a fixed concurrency for a fixed time.
 * Latencies are recorded here from autocannon's `response` events, in fractional
 * milliseconds: its own histogram keeps whole milliseconds, too coarse for p99 ratios.
 */
import autocannon from 'autocannon'
import { Pool } from 'undici'

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

/**
 * `count` GET requests of `path`, `inFlight` at a time, each of which must answer 200: a fixed
 * amount of work to count CPU or instructions against (bench/instructions.ts, after-idle.ts).
 */
export async function requestAll(options: {
  url: string
  path: string
  count: number
  inFlight: number
  headers: (i: number) => Record<string, string>
}): Promise<void> {
  const { url, path, count, inFlight, headers } = options
  const pool = new Pool(url, { connections: inFlight })
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      const response = await pool.request({ method: 'GET', path, headers: headers(i) })
      await response.body.dump()
      if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode}`)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  await pool.close()
}
