/**
 * D, refresh storm: 200 concurrent calls for one user whose access token the emulator has just
 * expired. The connector learns it from `401 expired_access_token` (the reactive path, contract
 * §7), so every in-flight call must share one refresh.
 */
import { Pool } from 'undici'
import type { EmulatorControlClient } from '../emulator/index.ts'
import { percentile } from './load.ts'

export interface StormResult {
  concurrency: number
  /** `refresh_token` requests the emulator received during the storm: must be 1. */
  tokenRequests: number
  /** Upstream calls refused with 401 during the storm (sent with the expired token). */
  rejectedUpstreamCalls: number
  failures: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** One call alone right after expiry (401, refresh, retry): median of several. */
  refreshRoundTripMs: number
  /** The same 200 concurrent calls with a valid token: what the burst costs without a refresh. */
  warmBurstP99Ms: number
}

export async function refreshStorm(options: {
  connectorUrl: string
  control: EmulatorControlClient
  accountId: string
  assertion: string
  concurrency?: number
}): Promise<StormResult> {
  const concurrency = options.concurrency ?? 200
  const pool = new Pool(options.connectorUrl, { connections: concurrency, pipelining: 1 })
  const headers = { 'x-identity-assertion': options.assertion }
  const call = async (): Promise<{ ms: number; status: number }> => {
    const startedAt = performance.now()
    const response = await pool.request({ method: 'GET', path: '/v1/me', headers })
    await response.body.arrayBuffer()
    return { ms: performance.now() - startedAt, status: response.statusCode }
  }
  const burst = () => Promise.all(Array.from({ length: concurrency }, call))
  try {
    // Opens every socket and warms the path, so the measured bursts pay no TCP handshakes.
    for (let i = 0; i < 3; i++) await burst()
    const warm = await burst()

    const alone: number[] = []
    for (let i = 0; i < 7; i++) {
      await options.control.expireAccessTokens(options.accountId)
      const { ms, status } = await call()
      if (status !== 200) throw new Error(`refresh round trip answered ${status}`)
      alone.push(ms)
    }

    await options.control.resetCounters()
    await options.control.expireAccessTokens(options.accountId)
    const storm = await burst()
    const counters = await options.control.counters()

    const sorted = (values: number[]) => Float64Array.from(values).sort()
    const stormMs = sorted(storm.map((r) => r.ms))
    return {
      concurrency,
      tokenRequests: counters.tokenRequests.refresh_token,
      rejectedUpstreamCalls: counters.calls.filter((call) => call.status === 401).length,
      failures: storm.filter((r) => r.status !== 200).length,
      p50Ms: percentile(stormMs, 0.5),
      p99Ms: percentile(stormMs, 0.99),
      maxMs: stormMs[stormMs.length - 1] ?? Number.NaN,
      refreshRoundTripMs: percentile(sorted(alone), 0.5),
      warmBurstP99Ms: percentile(sorted(warm.map((r) => r.ms)), 0.99),
    }
  } finally {
    await pool.close()
  }
}
