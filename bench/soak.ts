/**
 * `npm run bench -- --soak 300`: steady traffic (scenario A) for the given seconds, and at the
 * end of every minute the connector's RSS under load, then its heap after a forced full GC (one
 * also runs before the first minute). Drift is measured from the end of the first minute
 * (warm-up: JIT, caches, heap sizing) to the last; the target is ≤ 5 % on RSS.
 */
import type { Inspector } from './inspector.ts'
import { type LoadResult, runLoad } from './load.ts'
import type { Service } from './processes.ts'

export interface SoakSample {
  minute: number
  requestsPerSecond: number
  failures: number
  /** RSS in MB at the end of the minute, before the forced GC. */
  rssMb: number
  /** V8 heap used and total after a full GC, in MB; external memory (buffers, SQLite excluded). */
  heapUsedAfterGcMb: number
  heapTotalAfterGcMb: number
  externalAfterGcMb: number
  /** RSS in MB right after the forced GC. */
  rssAfterGcMb: number
}

export interface SoakResult {
  seconds: number
  samples: SoakSample[]
  /** (last − first) ÷ first, from the first minute's end on; NaN with fewer than 2 minutes. */
  rssDrift: number
  heapDrift: number
}

const MB = 1024 * 1024

export async function soak(options: {
  connector: Service
  inspector: Inspector
  seconds: number
  connections: number
  path: string
  nextHeaders: () => Record<string, string>
  log: (message: string) => void
}): Promise<SoakResult> {
  const samples: SoakSample[] = []
  const minutes = Math.max(1, Math.ceil(options.seconds / 60))
  // Every minute then starts right after a forced full GC, the first one included: without it
  // the first sample alone still held the pages of the connect phase before the soak, and the
  // drift compared it with minutes that start from a collected heap.
  await options.inspector.memoryAfterGc()
  for (let minute = 1; minute <= minutes; minute++) {
    const seconds = Math.min(60, options.seconds - (minute - 1) * 60)
    const load: LoadResult = await runLoad({
      url: options.connector.url,
      path: options.path,
      connections: options.connections,
      durationSeconds: seconds,
      nextHeaders: options.nextHeaders,
    })
    const rssMb = (await options.connector.rss()) / MB
    const memory = await options.inspector.memoryAfterGc()
    const sample: SoakSample = {
      minute,
      requestsPerSecond: load.requestsPerSecond,
      failures: load.failures,
      rssMb,
      heapUsedAfterGcMb: memory.heapUsed / MB,
      heapTotalAfterGcMb: memory.heapTotal / MB,
      externalAfterGcMb: memory.external / MB,
      rssAfterGcMb: memory.rss / MB,
    }
    samples.push(sample)
    options.log(
      `soak minute ${minute}: ${load.requestsPerSecond.toFixed(0)} req/s, RSS ${rssMb.toFixed(0)} MB, after GC: heap ${sample.heapUsedAfterGcMb.toFixed(1)} MB used / ${sample.heapTotalAfterGcMb.toFixed(1)} MB, RSS ${sample.rssAfterGcMb.toFixed(0)} MB`,
    )
  }
  const drift = (pick: (s: SoakSample) => number) => {
    const first = samples[0]
    const last = samples.at(-1)
    if (!first || !last || samples.length < 2) return Number.NaN
    return (pick(last) - pick(first)) / pick(first)
  }
  return {
    seconds: options.seconds,
    samples,
    rssDrift: drift((s) => s.rssMb),
    heapDrift: drift((s) => s.heapUsedAfterGcMb),
  }
}

export function printSoak(result: SoakResult): string[] {
  const out = [
    '',
    `## soak: ${result.seconds} s of scenario A`,
    '',
    '| minute | req/s | failures | RSS MB | heap used after GC MB | heap total after GC MB | external MB | RSS after GC MB |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|',
  ]
  for (const s of result.samples) {
    out.push(
      `| ${s.minute} | ${s.requestsPerSecond.toFixed(0)} | ${s.failures} | ${s.rssMb.toFixed(1)} | ${s.heapUsedAfterGcMb.toFixed(1)} | ${s.heapTotalAfterGcMb.toFixed(1)} | ${s.externalAfterGcMb.toFixed(1)} | ${s.rssAfterGcMb.toFixed(1)} |`,
    )
  }
  const pct = (n: number) => `${(n * 100).toFixed(1)} %`
  out.push(
    '',
    result.samples.length < 2
      ? 'Drift after the first minute: none to measure (a soak of 120 s or more has one)'
      : `Drift after the first minute: RSS ${pct(result.rssDrift)}, heap after GC ${pct(result.heapDrift)}`,
  )
  return out
}
