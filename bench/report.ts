/** The table on stdout and `bench/results/latest.json`: the same figures, ratios included. */
import { writeFile } from 'node:fs/promises'
import type { ColdStartResult } from './cold-start.ts'
import { type DownloadResult, downloadTargets, printDownloads } from './download.ts'
import type { LoadResult } from './load.ts'
import type { MicroResult } from './micro.ts'
import { LOAD_SCENARIOS } from './scenarios.ts'
import type { SoakResult } from './soak.ts'
import type { StormResult } from './storm.ts'

/** A load phase and the CPU each process spent on it, in microseconds per request. */
export interface PhaseResult extends LoadResult {
  cpuUsPerRequest: { proxy: number; emulator: number; loadGenerator: number }
}

export interface VariantReport {
  name: string
  connectSeconds: number
  rounds: Array<Record<string, PhaseResult>>
  /** Absent in a soak run. */
  storm: StormResult | null
  /** Connector RSS in MB. */
  rss: ConnectorRss
  /** The connector's V8 heap after the run (MB, from its /metrics). */
  heap: Record<string, number>
  connectorLogBytes: number
  soak?: SoakResult
  /** R0-download and G (bench/download.ts), when the run includes them. */
  download?: DownloadResult
}

export interface ConnectorRss {
  afterBoot: number
  afterConnect?: number
  afterRound: number[]
  final?: number
  finalAnon?: number
  /** After the connector idled for a while once the last phase ended (bench/run.ts). */
  afterIdle?: { seconds: number; mb: number }
}

export interface BenchReport {
  startedAt: string
  settings: Record<string, unknown>
  machine: { node: string; cpus: number }
  variants: VariantReport[]
  micro: MicroResult[]
  durationSeconds: number
  coldStart: ColdStartResult | null
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

/** Issue 18's targets. */
const TARGET = {
  aOverR0: 0.7,
  bOverR1: 0.85,
  cOverR0List: 0.8,
  cpuAOverR0: 1.6,
  coldStartOverBare: 2.0,
  rssAtReadyMb: 110,
  rssAfterBenchMb: 300,
  soakDrift: 0.05,
}

export function median(values: number[]): number {
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

export function targetsOf(
  variant: VariantReport,
  rows: Row[],
  cold: ColdStartResult | null = null,
): Target[] {
  const row = (id: string) => rows.find((r) => r.id === id)
  const x = (n: number | undefined) => `${(n ?? Number.NaN).toFixed(2)}×`
  const targets: Target[] = []
  const ratio = (id: string, floor: string, min: number) => {
    const r = row(id)
    if (!r) return
    targets.push({
      name: `${id} throughput ÷ ${floor} ≥ ${min}`,
      value: x(r.throughputRatio),
      met: (r.throughputRatio ?? 0) >= min,
    })
  }
  ratio('A', 'R0', TARGET.aOverR0)
  ratio('B', 'R1', TARGET.bOverR1)
  ratio('C', 'R0-list', TARGET.cOverR0List)
  const a = row('A')
  const r0 = row('R0')
  if (a && r0) {
    const cpu = a.proxyCpuUs / r0.proxyCpuUs
    targets.push({
      name: `connector CPU µs per A request ÷ R0's ≤ ${TARGET.cpuAOverR0}`,
      value: `${x(cpu)} (${a.proxyCpuUs} vs ${r0.proxyCpuUs} µs)`,
      met: cpu <= TARGET.cpuAOverR0,
    })
  }
  if (cold) {
    const ratio = cold.connector.readyMs / cold.bare.readyMs
    targets.push(
      {
        name: `cold start to ready ÷ a bare Fastify app's ≤ ${TARGET.coldStartOverBare}`,
        value: `${x(ratio)} (${cold.connector.readyMs.toFixed(0)} vs ${cold.bare.readyMs.toFixed(0)} ms)`,
        met: ratio <= TARGET.coldStartOverBare,
      },
      {
        name: `RSS at ready ≤ ${TARGET.rssAtReadyMb} MB`,
        value: `${cold.connector.rssMb.toFixed(0)} MB (bare Fastify ${cold.bare.rssMb.toFixed(0)} MB)`,
        met: cold.connector.rssMb <= TARGET.rssAtReadyMb,
      },
    )
  }
  const { storm, rss, soak } = variant
  if (storm) {
    targets.push(
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
    )
  }
  targets.push({
    name: `RSS after the ${soak ? 'soak' : 'bench'} ≤ ${TARGET.rssAfterBenchMb} MB`,
    value: `${rss.final?.toFixed(0)} MB (after each round: ${rss.afterRound.map((v) => v.toFixed(0)).join(' → ') || '—'})`,
    met: (rss.final ?? Infinity) <= TARGET.rssAfterBenchMb,
  })
  // A one-minute soak (enough to trace the collector) has no later minute to compare.
  if (soak && soak.samples.length >= 2) {
    targets.push({
      name: `RSS drift over the soak after its first minute ≤ ${TARGET.soakDrift * 100} %`,
      value: `${(soak.rssDrift * 100).toFixed(1)} % (${soak.samples.map((s) => s.rssMb.toFixed(0)).join(' → ')} MB; heap after GC ${(soak.heapDrift * 100).toFixed(1)} %)`,
      met: Math.abs(soak.rssDrift) <= TARGET.soakDrift,
    })
  }
  if (variant.download) targets.push(...downloadTargets(variant.download))
  const failures =
    rows.reduce((n, r) => n + r.failures, 0) +
    (soak?.samples.reduce((n, s) => n + s.failures, 0) ?? 0)
  targets.push({ name: 'no failed request', value: String(failures), met: failures === 0 })
  return targets
}

export async function writeReport(report: BenchReport, path: string): Promise<void> {
  const variants = report.variants.map((variant) => {
    const rows = rowsOf(variant)
    return { ...variant, rows, targets: targetsOf(variant, rows, report.coldStart) }
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
    if (rows.length) {
      out.push(
        '| scenario | req/s | p50 ms | p99 ms | floor | req/s ÷ floor | p99 ÷ floor p99 | proxy CPU µs/req | emulator CPU µs/req |',
        '|---|--:|--:|--:|---|--:|--:|--:|--:|',
      )
    }
    for (const row of rows) {
      out.push(
        `| ${row.id} | ${row.requestsPerSecond.toFixed(0)} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${row.floor ?? '—'} | ${fixed(row.throughputRatio, 2)} | ${fixed(row.p99Ratio, 2)} | ${row.proxyCpuUs} | ${row.emulatorCpuUs} |`,
      )
    }
    const { storm } = variant
    if (storm)
      out.push(
        '',
        `D refresh storm: ${storm.concurrency} concurrent calls, ${storm.tokenRequests} token request(s), ${storm.rejectedUpstreamCalls} upstream 401s, ${storm.failures} failed; p50 ${storm.p50Ms.toFixed(1)} ms, p99 ${storm.p99Ms.toFixed(1)} ms, max ${storm.maxMs.toFixed(1)} ms; one refresh round trip alone ${storm.refreshRoundTripMs.toFixed(1)} ms; the same burst without expiry p99 ${storm.warmBurstP99Ms.toFixed(1)} ms`,
      )
    if (variant.download) out.push(...printDownloads(variant.download), '')
    const { rss } = variant
    out.push(
      `Connector RSS: boot ${rss.afterBoot?.toFixed(0)} MB, after connecting ${rss.afterConnect?.toFixed(0)} MB, after each round ${rss.afterRound.map((v) => v.toFixed(0)).join(', ')} MB, final ${rss.final?.toFixed(0)} MB (anonymous ${rss.finalAnon?.toFixed(0)} MB, the rest is mapped files such as the node binary)${rss.afterIdle ? `, ${rss.afterIdle.mb.toFixed(0)} MB after idling ${rss.afterIdle.seconds} s` : ''}; request log ${(variant.connectorLogBytes / 1024 / 1024).toFixed(1)} MB`,
    )
    out.push(
      `Connector heap after the run (MB): ${Object.entries(variant.heap)
        .map(([name, mb]) => `${name} ${mb}`)
        .join(', ')}`,
    )
    out.push('', 'Targets:')
    for (const target of targetsOf(variant, rows, report.coldStart)) {
      out.push(`  ${target.met ? 'met ' : 'MISS'}  ${target.name}: ${target.value}`)
    }
  }
  const cold = report.coldStart
  if (cold) {
    out.push(
      '',
      `Cold start (spawn → first 200 from /readyz, empty database, median of ${cold.connector.samples.length}): connector \`${cold.entry}\` ${cold.connector.readyMs.toFixed(0)} ms at ${cold.connector.rssMb.toFixed(0)} MB RSS; bare Fastify ${cold.bare.readyMs.toFixed(0)} ms at ${cold.bare.rssMb.toFixed(0)} MB`,
    )
  }
  if (report.micro.length) out.push('', 'E micro (ops/s, this process):')
  for (const micro of report.micro)
    out.push(`  ${micro.opsPerSecond.toFixed(0).padStart(9)}  ${micro.name}`)
  out.push('', `total ${report.durationSeconds.toFixed(0)} s; bench/results/latest.json written`)
  process.stdout.write(`${out.join('\n')}\n`)
}
