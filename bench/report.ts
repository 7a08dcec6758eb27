/** The table on stdout and `bench/results/latest.json`: the same figures, ratios included. */
import { writeFile } from 'node:fs/promises'
import type { LoadResult } from './load.ts'
import type { MicroResult } from './micro.ts'
import { LOAD_SCENARIOS } from './scenarios.ts'
import type { StormResult } from './storm.ts'

/** A load phase and the CPU each process spent on it, in microseconds per request. */
export interface PhaseResult extends LoadResult {
  cpuUsPerRequest: { proxy: number; emulator: number; loadGenerator: number }
}

export interface VariantReport {
  name: string
  connectSeconds: number
  rounds: Array<Record<string, PhaseResult>>
  storm: StormResult
  /** Connector RSS in MB. */
  rss: ConnectorRss
  /** The connector's V8 heap after the run (MB, from its /metrics). */
  heap: Record<string, number>
  connectorLogBytes: number
}

export interface ConnectorRss {
  afterBoot: number
  afterConnect?: number
  afterRound: number[]
  final?: number
  finalAnon?: number
}

export interface BenchReport {
  startedAt: string
  settings: Record<string, unknown>
  machine: { node: string; cpus: number }
  variants: VariantReport[]
  micro: MicroResult[]
  durationSeconds: number
}

export interface Row {
  id: string
  title: string
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  failures: number
  /** CPU µs per request of the proxy under test (reference or connector) and of the emulator. */
  proxyCpuUs: number
  emulatorCpuUs: number
  floor?: string
  throughputRatio?: number
  p99Ratio?: number
}

export interface Target {
  name: string
  value: string
  met: boolean
}

const RSS_LIMIT_MB = 200
/** Growth from the first round to the last that still counts as flat. */
const RSS_FLAT_MB = 10

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Each scenario over the rounds: mean throughput, median p50 and p99; ratios to its floor. */
export function rowsOf(variant: VariantReport): Row[] {
  const rows = new Map<string, Row>()
  for (const scenario of LOAD_SCENARIOS) {
    const results = variant.rounds.map((round) => round[scenario.id]).filter((r) => r !== undefined)
    if (results.length === 0) continue
    const row: Row = {
      id: scenario.id,
      title: scenario.title,
      requestsPerSecond: results.reduce((sum, r) => sum + r.requestsPerSecond, 0) / results.length,
      p50Ms: median(results.map((r) => r.p50Ms)),
      p99Ms: median(results.map((r) => r.p99Ms)),
      failures: results.reduce((sum, r) => sum + r.failures, 0),
      proxyCpuUs: median(results.map((r) => r.cpuUsPerRequest.proxy)),
      emulatorCpuUs: median(results.map((r) => r.cpuUsPerRequest.emulator)),
    }
    const floor = scenario.floor ? rows.get(scenario.floor) : undefined
    if (floor) {
      row.floor = floor.id
      row.throughputRatio = row.requestsPerSecond / floor.requestsPerSecond
      row.p99Ratio = row.p99Ms / floor.p99Ms
    }
    rows.set(scenario.id, row)
  }
  return [...rows.values()]
}

export function targetsOf(variant: VariantReport, rows: Row[]): Target[] {
  const none: Row = {
    id: '',
    title: '',
    requestsPerSecond: 0,
    p50Ms: 0,
    p99Ms: 0,
    failures: 0,
    proxyCpuUs: 0,
    emulatorCpuUs: 0,
  }
  const row = (id: string) => rows.find((r) => r.id === id) ?? none
  const a = row('A')
  const b = row('B')
  const c = row('C')
  const { storm, rss } = variant
  const growth = (rss.afterRound.at(-1) ?? 0) - (rss.afterRound[0] ?? 0)
  const x = (n: number | undefined) => `${(n ?? Number.NaN).toFixed(2)}×`
  return [
    {
      name: 'A throughput ≥ 0.8 × R0',
      value: x(a.throughputRatio),
      met: (a.throughputRatio ?? 0) >= 0.8,
    },
    { name: 'A p99 ≤ 1.5 × R0 p99', value: x(a.p99Ratio), met: (a.p99Ratio ?? Infinity) <= 1.5 },
    {
      name: 'B throughput ≥ 0.8 × R1',
      value: x(b.throughputRatio),
      met: (b.throughputRatio ?? 0) >= 0.8,
    },
    {
      name: 'C throughput ≥ 0.8 × R0-list',
      value: x(c.throughputRatio),
      met: (c.throughputRatio ?? 0) >= 0.8,
    },
    {
      name: 'D exactly 1 token request',
      value: String(storm.tokenRequests),
      met: storm.tokenRequests === 1 && storm.failures === 0,
    },
    {
      name: 'D p99 < 2 × one refresh round trip',
      value: `${storm.p99Ms.toFixed(1)} ms vs 2 × ${storm.refreshRoundTripMs.toFixed(1)} ms`,
      met: storm.p99Ms < 2 * storm.refreshRoundTripMs,
    },
    {
      name: `RSS after the run < ${RSS_LIMIT_MB} MB`,
      value: `${rss.final?.toFixed(0)} MB`,
      met: (rss.final ?? Infinity) < RSS_LIMIT_MB,
    },
    {
      name: `RSS flat from round to round (< ${RSS_FLAT_MB} MB growth)`,
      value: `${rss.afterRound.map((v) => v.toFixed(0)).join(' → ')} MB`,
      met: growth < RSS_FLAT_MB,
    },
    {
      name: 'no failed request',
      value: String(rows.reduce((n, r) => n + r.failures, 0)),
      met: rows.every((r) => r.failures === 0),
    },
  ]
}

export async function writeReport(report: BenchReport, path: string): Promise<void> {
  const variants = report.variants.map((variant) => {
    const rows = rowsOf(variant)
    return { ...variant, rows, targets: targetsOf(variant, rows) }
  })
  await writeFile(path, `${JSON.stringify({ ...report, variants }, null, 2)}\n`)
}

const fixed = (n: number | undefined, digits: number) =>
  n === undefined || Number.isNaN(n) ? '' : n.toFixed(digits)

export function printReport(report: BenchReport): void {
  const out: string[] = []
  const { settings } = report
  out.push(
    `cloud-connector bench: ${settings.users} users, ${settings.connections} connections, ${settings.rounds} × ${settings.seconds} s per scenario, node ${report.machine.node}, ${report.machine.cpus} CPUs`,
  )
  for (const variant of report.variants) {
    const rows = rowsOf(variant)
    out.push(
      '',
      `## connector: ${variant.name} (users connected in ${variant.connectSeconds.toFixed(1)} s)`,
      '',
    )
    out.push(
      '| scenario | req/s | p50 ms | p99 ms | floor | req/s ÷ floor | p99 ÷ floor p99 | proxy CPU µs/req | emulator CPU µs/req |',
    )
    out.push('|---|--:|--:|--:|---|--:|--:|--:|--:|')
    for (const row of rows) {
      out.push(
        `| ${row.id} | ${row.requestsPerSecond.toFixed(0)} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${row.floor ?? '—'} | ${fixed(row.throughputRatio, 2)} | ${fixed(row.p99Ratio, 2)} | ${row.proxyCpuUs} | ${row.emulatorCpuUs} |`,
      )
    }
    const { storm } = variant
    out.push(
      '',
      `D refresh storm: ${storm.concurrency} concurrent calls, ${storm.tokenRequests} token request(s), ${storm.rejectedUpstreamCalls} upstream 401s, ${storm.failures} failed; p50 ${storm.p50Ms.toFixed(1)} ms, p99 ${storm.p99Ms.toFixed(1)} ms, max ${storm.maxMs.toFixed(1)} ms; one refresh round trip alone ${storm.refreshRoundTripMs.toFixed(1)} ms; the same burst without expiry p99 ${storm.warmBurstP99Ms.toFixed(1)} ms`,
    )
    const { rss } = variant
    out.push(
      `Connector RSS: boot ${rss.afterBoot?.toFixed(0)} MB, after connecting ${rss.afterConnect?.toFixed(0)} MB, after each round ${rss.afterRound.map((v) => v.toFixed(0)).join(', ')} MB, final ${rss.final?.toFixed(0)} MB (anonymous ${rss.finalAnon?.toFixed(0)} MB, the rest is mapped files such as the node binary); request log ${(variant.connectorLogBytes / 1024 / 1024).toFixed(1)} MB`,
    )
    out.push(
      `Connector heap after the run (MB): ${Object.entries(variant.heap)
        .map(([name, mb]) => `${name} ${mb}`)
        .join(', ')}`,
    )
    out.push('', 'Targets:')
    for (const target of targetsOf(variant, rows)) {
      out.push(`  ${target.met ? 'met ' : 'MISS'}  ${target.name}: ${target.value}`)
    }
  }
  out.push('', 'E micro (ops/s, this process):')
  for (const micro of report.micro)
    out.push(`  ${micro.opsPerSecond.toFixed(0).padStart(9)}  ${micro.name}`)
  out.push('', `total ${report.durationSeconds.toFixed(0)} s; bench/results/latest.json written`)
  process.stdout.write(`${out.join('\n')}\n`)
}
