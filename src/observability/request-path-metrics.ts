/**
 * The two metrics recorded on every `/v1` call, kept without prom-client's per-call work.
 *
 * prom-client checks, sorts and hashes a label set on each `observe` and `inc`, a bound child
 * included: ~9,000 machine instructions per request for the duration histogram and ~4,800 for the
 * upstream counter (`npm run bench:instructions`, issue 18), more than the identity check costs.
 * Here a series is found through one Map per label, keyed by the label's value as given, and
 * created on first use. The registry still formats both: `getForPromString` hands it the same
 * values prom-client's Histogram and Counter would, so `/metrics` reads byte for byte the same
 * (test/observability/request-path-metrics.test.ts compares the two).
 */
import type { Metric, Registry } from 'prom-client'

type LabelValue = string | number

interface ExportedValue {
  labels: Record<string, LabelValue>
  sharedLabels?: Record<string, string>
  value: number
  metricName?: string
}

interface Exported {
  name: string
  help: string
  type: 'histogram' | 'counter'
  aggregator: 'sum'
  values: ExportedValue[]
}

/** Series by label values, one Map level per label, in the order they were first seen. */
class SeriesIndex<Series> {
  readonly #labelNames: readonly string[]
  readonly #create: (labels: Record<string, string>) => Series
  #root = new Map<LabelValue, unknown>()
  #inOrder: Series[] = []

  constructor(labelNames: readonly string[], create: (labels: Record<string, string>) => Series) {
    if (labelNames.length === 0) throw new Error('a request-path metric needs labels')
    this.#labelNames = labelNames
    this.#create = create
  }

  find(values: readonly LabelValue[]): Series {
    if (values.length !== this.#labelNames.length) {
      throw new Error(`expected ${this.#labelNames.length} label values, got ${values.length}`)
    }
    let level = this.#root
    const last = values.length - 1
    for (let i = 0; i < last; i++) {
      const value = values[i] as LabelValue
      let next = level.get(value) as Map<LabelValue, unknown> | undefined
      if (next === undefined) {
        next = new Map()
        level.set(value, next)
      }
      level = next
    }
    const leaf = values[last] as LabelValue
    let series = level.get(leaf) as Series | undefined
    if (series === undefined) {
      series = this.#create(this.#labelsOf(values))
      level.set(leaf, series)
      this.#inOrder.push(series)
    }
    return series
  }

  get all(): readonly Series[] {
    return this.#inOrder
  }

  clear(): void {
    this.#root = new Map()
    this.#inOrder = []
  }

  // prom-client keeps label values as strings, its keys in labelNames order.
  #labelsOf(values: readonly LabelValue[]): Record<string, string> {
    const labels: Record<string, string> = {}
    this.#labelNames.forEach((name, i) => {
      labels[name] = String(values[i])
    })
    return labels
  }
}

interface MetricOptions {
  name: string
  help: string
  labelNames: readonly string[]
  registers: Registry[]
}

/** What the registry reads of a metric: its name, type, values and `reset`. */
abstract class RequestPathMetric<Series> {
  abstract readonly type: Exported['type']
  readonly aggregator = 'sum' as const
  readonly name: string
  readonly help: string
  protected readonly series: SeriesIndex<Series>

  constructor(options: MetricOptions, create: (labels: Record<string, string>) => Series) {
    this.name = options.name
    this.help = options.help
    this.series = new SeriesIndex(options.labelNames, create)
    // Its type admits only prom-client's own classes.
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric)
  }

  /** What the registry formats for the text exposition. */
  abstract getForPromString(): Exported

  reset(): void {
    this.series.clear()
  }

  protected exported(values: ExportedValue[]): Exported {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    }
  }
}

interface HistogramSeries {
  readonly labels: Record<string, string>
  /** Observations per bucket, not cumulative; the last slot is above every bound. */
  readonly perBucket: number[]
  sum: number
  count: number
}

export class RequestPathHistogram extends RequestPathMetric<HistogramSeries> {
  readonly type = 'histogram' as const
  readonly #bounds: readonly number[]

  constructor(options: MetricOptions & { buckets: readonly number[] }) {
    const bounds = [...options.buckets].sort((a, b) => a - b)
    super(options, (labels) => ({
      labels,
      perBucket: new Array<number>(bounds.length + 1).fill(0),
      sum: 0,
      count: 0,
    }))
    this.#bounds = bounds
  }

  /** `labelValues` in the order of `labelNames`. */
  observe(labelValues: readonly LabelValue[], value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite observation: ${value}`)
    const series = this.series.find(labelValues)
    const bounds = this.#bounds
    let slot = 0
    while (slot < bounds.length && value > (bounds[slot] as number)) slot++
    ;(series.perBucket[slot] as number)++
    series.sum += value
    series.count++
  }

  /** Buckets by `le` (cumulative), then `_sum` and `_count`, as prom-client's Histogram. */
  getForPromString(): Exported {
    const values: ExportedValue[] = []
    const bucket = `${this.name}_bucket`
    for (const series of this.series.all) {
      const value = (labels: ExportedValue['labels'], value: number, metricName: string) =>
        values.push({ labels, sharedLabels: series.labels, value, metricName })
      let cumulative = 0
      this.#bounds.forEach((bound, i) => {
        cumulative += series.perBucket[i] as number
        value({ le: bound }, cumulative, bucket)
      })
      value({ le: '+Inf' }, series.count, bucket)
      value({}, series.sum, `${this.name}_sum`)
      value({}, series.count, `${this.name}_count`)
    }
    return this.exported(values)
  }

  /** As `getForPromString`, each value's labels in one object (`getMetricsAsJSON`). */
  get(): Exported {
    const exported = this.getForPromString()
    exported.values = exported.values.map(({ labels, sharedLabels, value, metricName }) => ({
      labels: { ...labels, ...sharedLabels },
      value,
      metricName,
    }))
    return exported
  }
}

interface CounterSeries {
  readonly labels: Record<string, string>
  value: number
}

export class RequestPathCounter extends RequestPathMetric<CounterSeries> {
  readonly type = 'counter' as const

  constructor(options: MetricOptions) {
    super(options, (labels) => ({ labels, value: 0 }))
  }

  /** `labelValues` in the order of `labelNames`. */
  inc(labelValues: readonly LabelValue[]): void {
    this.series.find(labelValues).value++
  }

  getForPromString(): Exported {
    return this.exported(this.series.all.map(({ labels, value }) => ({ labels, value })))
  }

  get(): Exported {
    return this.getForPromString()
  }
}
