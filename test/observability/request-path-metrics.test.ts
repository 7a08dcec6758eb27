import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Counter, Histogram, Registry } from 'prom-client'
import { REQUEST_DURATION_BUCKETS } from '../../src/observability/metrics.ts'
import {
  RequestPathCounter,
  RequestPathHistogram,
} from '../../src/observability/request-path-metrics.ts'
import { seededRandom } from '../seeded-random.ts'

const LABELS = ['method', 'route', 'status_code', 'caller']

// Label values a route pattern or a caller name could hold, the escaped characters included.
const LABEL_SETS: Array<[string, string, number, string]> = [
  ['GET', '/v1/me', 200, 'billing'],
  ['GET', '/v1/me', 401, ''],
  ['POST', '/v1/connections/:provider', 200, 'billing'],
  ['GET', '(unmatched)', 404, ''],
  ['GET', '/v1/me', 200, 'quote" back\\slash\nnewline'],
  ['DELETE', '/v1/connections/:provider', 503, 'reports'],
]

/** Observations on, between, below and above the bounds, from a fixed seed. */
function observations(
  count: number,
): Array<{ labels: [string, string, number, string]; value: number }> {
  const next = seededRandom(42)
  const special = [0, ...REQUEST_DURATION_BUCKETS, 10.000001, 120, 1e-9]
  return Array.from({ length: count }, (_, i) => ({
    labels: LABEL_SETS[Math.floor(next() * LABEL_SETS.length)] as [string, string, number, string],
    value: i % 3 === 0 ? (special[i % special.length] as number) : next() ** 3 * 12,
  }))
}

test('the request histogram exposes exactly what prom-client would for the same observations', async () => {
  const ours = new Registry()
  const theirs = new Registry()
  const lean = new RequestPathHistogram({
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests by route pattern, status and calling service.',
    labelNames: LABELS,
    buckets: REQUEST_DURATION_BUCKETS,
    registers: [ours],
  })
  const reference = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests by route pattern, status and calling service.',
    labelNames: LABELS,
    buckets: REQUEST_DURATION_BUCKETS,
    registers: [theirs],
  })
  for (const { labels, value } of observations(5_000)) {
    lean.observe(labels, value)
    const [method, route, status, caller] = labels
    reference.labels(method, route, String(status), caller).observe(value)
  }
  const text = await ours.metrics()
  assert.equal(text, await theirs.metrics())
  assert.match(text, /caller="quote\\" back\\\\slash\\nnewline"/)
  assert.match(
    text,
    /http_request_duration_seconds_count\{method="GET",route="\/v1\/me",status_code="200",caller="billing"\} \d+/,
  )

  const simplified = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
    metrics.map(({ name, help, type, values }) => ({
      name,
      help,
      type,
      values: values.map((v) => ({
        ...v.labels,
        value: v.value,
        metricName: (v as { metricName?: string }).metricName,
      })),
    }))
  assert.deepEqual(
    simplified(await ours.getMetricsAsJSON()),
    simplified(await theirs.getMetricsAsJSON()),
  )

  ours.resetMetrics()
  theirs.resetMetrics()
  lean.observe(['GET', '/healthz', 200, ''], 0.0004)
  reference.labels('GET', '/healthz', '200', '').observe(0.0004)
  assert.equal(await ours.metrics(), await theirs.metrics())
})

test('the upstream counter exposes exactly what prom-client would', async () => {
  const ours = new Registry()
  const theirs = new Registry()
  const options = {
    name: 'upstream_calls_total',
    help: 'Calls to the cloud provider by operation and outcome.',
    labelNames: ['operation', 'outcome'],
  }
  const lean = new RequestPathCounter({ ...options, registers: [ours] })
  const reference = new Counter({ ...options, registers: [theirs] })
  const calls: Array<[string, string]> = [
    ['users/get_current_account', 'ok'],
    ['files/list_folder', 'ok'],
    ['users/get_current_account', 'rate_limited'],
    ['users/get_current_account', 'ok'],
    ['files/list_folder', 'timeout'],
  ]
  for (let i = 0; i < 200; i++) {
    const [operation, outcome] = calls[(i * 7) % calls.length] as [string, string]
    lean.inc([operation, outcome])
    reference.labels(operation, outcome).inc()
  }
  assert.equal(await ours.metrics(), await theirs.metrics())
  assert.match(
    await ours.metrics(),
    /upstream_calls_total\{operation="files\/list_folder",outcome="timeout"\} 40/,
  )
})

test('a wrong number of label values or a non-finite observation is refused and records nothing', async () => {
  const registry = new Registry()
  const histogram = new RequestPathHistogram({
    name: 'h',
    help: 'h',
    labelNames: ['a', 'b'],
    buckets: [1],
    registers: [registry],
  })
  assert.throws(() => histogram.observe(['x'], 1), /expected 2 label values, got 1/)
  assert.throws(() => histogram.observe(['x', 'y'], Number.NaN), TypeError)
  assert.throws(() => histogram.observe(['x', 'y'], Number.POSITIVE_INFINITY), TypeError)
  assert.equal(await registry.metrics(), '# HELP h h\n# TYPE h histogram\n')
})
