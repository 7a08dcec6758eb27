/**
 * The service's Prometheus metrics (contract §5 `/metrics`). Core code records through this
 * small interface; one registry per app keeps tests that build several apps independent.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import { RequestPathCounter, RequestPathHistogram } from './request-path-metrics.ts'

export type UpstreamOutcome =
  | 'ok'
  | 'rate_limited'
  | 'server_error'
  | 'network_error'
  | 'timeout'
  | 'client_error'
  | 'auth_error'
  | 'malformed'

export type RefreshOutcome = 'ok' | 'invalid_grant' | 'unavailable' | 'error'

/** `already_dead`: the refresh answered `invalid_grant`; `failed`: given up (contract §7). */
export type RevocationOutcome = 'ok' | 'already_dead' | 'queued' | 'failed'

export interface Metrics {
  readonly registry: Registry
  /** `caller`: the calling service of a `/v1` request (contract §2); empty elsewhere. */
  observeRequest(
    method: string,
    route: string,
    status: number,
    seconds: number,
    caller?: string,
  ): void
  countUpstreamCall(operation: string, outcome: UpstreamOutcome): void
  countTokenRefresh(outcome: RefreshOutcome): void
  countRevocation(outcome: RevocationOutcome): void
  /** Grants waiting in the durable revocation queue, as last seen by this replica. */
  setRevocationQueueDepth(depth: number): void
}

export const REQUEST_DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const requestDuration = new RequestPathHistogram({
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests by route pattern, status and calling service.',
    labelNames: ['method', 'route', 'status_code', 'caller'],
    buckets: REQUEST_DURATION_BUCKETS,
    registers: [registry],
  })
  const upstreamCalls = new RequestPathCounter({
    name: 'upstream_calls_total',
    help: 'Calls to the cloud provider by operation and outcome.',
    labelNames: ['operation', 'outcome'],
    registers: [registry],
  })
  const tokenRefreshes = new Counter({
    name: 'token_refreshes_total',
    help: 'Access-token refreshes by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  const revocations = new Counter({
    name: 'token_revocations_total',
    help: 'Upstream grant revocations by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  const revocationQueue = new Gauge({
    name: 'revocation_queue_depth',
    help: 'Grants waiting in the durable revocation queue (Dropbox could not be reached).',
    registers: [registry],
  })
  return {
    registry,
    observeRequest: (method, route, status, seconds, caller = '') =>
      requestDuration.observe([method, route, status, caller], seconds),
    countUpstreamCall: (operation, outcome) => upstreamCalls.inc([operation, outcome]),
    countTokenRefresh: (outcome) => tokenRefreshes.inc({ outcome }),
    countRevocation: (outcome) => revocations.inc({ outcome }),
    setRevocationQueueDepth: (depth) => revocationQueue.set(depth),
  }
}
