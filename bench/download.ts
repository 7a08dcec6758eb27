/**
 * Downloads (issue 17): MiB/s of R0-download (the reference proxy piping the emulator's
 * `files/download` with a fixed token) and G (the connector's `GET /v1/workspace/download`) for
 * the same 256 MiB file at a few concurrencies, and the connector's RSS while one 1 GiB
 * download flows through it. The bench process reads every byte and throws it away.
 */

import { Agent, request } from 'undici'
import type { EmulatorControlClient } from '../emulator/index.ts'
import { rssOf } from './processes.ts'
import type { Target } from './report.ts'

const MIB = 2 ** 20
export const DOWNLOAD_FILE = { path: '/Bench/file-256mib.bin', size: 256 * MIB }
export const LARGE_FILE = { path: '/Bench/file-1gib.bin', size: 1024 * MIB }
/** Issue 17's targets. */
const TARGET = { gOverR0Download: 0.8, rssGrowthMb: 64 }

export interface DownloadRow {
  id: 'R0-download' | 'G'
  concurrency: number
  /** Mean over the rounds of all bytes ÷ wall time. */
  mibPerSecond: number
  failures: number
}

export interface DownloadResult {
  fileMiB: number
  rounds: number
  rows: DownloadRow[]
  /** Connector RSS in MB before and at its peak during one 1 GiB download. */
  rss: { baselineMb: number; peakMb: number; growthMb: number; seconds: number; samples: number }
}

export interface DownloadOptions {
  connectorUrl: string
  connectorPid: number
  referenceUrl: string
  emulatorUrl: string
  control: EmulatorControlClient
  /** The emulator account both the connector's user and the reference token belong to. */
  accountId: string
  /** The reference proxy's fixed token (to hash the files once, before any measurement). */
  token: string
  /** A fresh assertion for the connector's user. */
  assertion: () => string
  concurrencies: number[]
  rounds: number
  log: (message: string) => void
}

export async function downloadBench(options: DownloadOptions): Promise<DownloadResult> {
  const { log } = options
  await options.control.addFiles(options.accountId, [
    { ...DOWNLOAD_FILE, type: 'file' },
    { ...LARGE_FILE, type: 'file' },
  ])
  // The emulator hashes a new file once (content_hash): not part of any measurement.
  for (const file of [DOWNLOAD_FILE, LARGE_FILE]) {
    const response = await fetch(`${options.emulatorUrl}/2/files/get_metadata`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path: file.path }),
    })
    await response.arrayBuffer()
    if (response.status !== 200) throw new Error(`get_metadata ${file.path}: ${response.status}`)
  }
  const agent = new Agent({ connections: 64 })
  const workspacePath = encodeURIComponent(DOWNLOAD_FILE.path.slice(1))
  const urls = {
    'R0-download': () => ({
      url: `${options.referenceUrl}/r0/download?path=${encodeURIComponent(DOWNLOAD_FILE.path)}`,
      headers: {},
    }),
    G: () => ({
      url: `${options.connectorUrl}/v1/workspace/download?path=${workspacePath}`,
      headers: { 'x-identity-assertion': options.assertion() },
    }),
  }
  /** One download read to the end; its length, or -1 when it failed. */
  const fetchAll = async (target: keyof typeof urls): Promise<number> => {
    const { url, headers } = urls[target]()
    try {
      const response = await request(url, { headers, dispatcher: agent })
      let received = 0
      for await (const chunk of response.body) received += (chunk as Buffer).byteLength
      return response.statusCode === 200 && received === DOWNLOAD_FILE.size ? received : -1
    } catch {
      return -1
    }
  }
  const run = async (target: keyof typeof urls, concurrency: number) => {
    const started = performance.now()
    const sizes = await Promise.all(Array.from({ length: concurrency }, () => fetchAll(target)))
    const seconds = (performance.now() - started) / 1000
    const bytes = sizes.reduce((sum, n) => sum + Math.max(0, n), 0)
    return { mibPerSecond: bytes / MIB / seconds, failures: sizes.filter((n) => n < 0).length }
  }

  try {
    log('downloads: warm-up (one of each)')
    await run('R0-download', 1)
    await run('G', 1)
    const rows: DownloadRow[] = []
    for (const concurrency of options.concurrencies) {
      const sums = { 'R0-download': { mib: 0, failures: 0 }, G: { mib: 0, failures: 0 } }
      for (let round = 0; round < options.rounds; round++) {
        // Alternate the order, so neither side always runs on a cooler (or hotter) machine.
        const order: Array<keyof typeof urls> =
          round % 2 ? ['G', 'R0-download'] : ['R0-download', 'G']
        for (const target of order) {
          log(`downloads: ${target} × ${concurrency}, round ${round + 1}`)
          const result = await run(target, concurrency)
          sums[target].mib += result.mibPerSecond
          sums[target].failures += result.failures
        }
      }
      for (const id of ['R0-download', 'G'] as const) {
        rows.push({
          id,
          concurrency,
          mibPerSecond: sums[id].mib / options.rounds,
          failures: sums[id].failures,
        })
      }
    }

    log('downloads: connector RSS during one 1 GiB download')
    const baseline = await rssOf(options.connectorPid)
    let peak = baseline
    let samples = 0
    const sampler = setInterval(() => {
      void rssOf(options.connectorPid).then((rss) => {
        samples++
        peak = Math.max(peak, rss)
      })
    }, 20)
    const started = performance.now()
    const response = await request(
      `${options.connectorUrl}/v1/workspace/download?path=${encodeURIComponent(LARGE_FILE.path.slice(1))}`,
      { headers: { 'x-identity-assertion': options.assertion() }, dispatcher: agent },
    )
    let received = 0
    for await (const chunk of response.body) received += (chunk as Buffer).byteLength
    clearInterval(sampler)
    peak = Math.max(peak, await rssOf(options.connectorPid))
    if (response.statusCode !== 200 || received !== LARGE_FILE.size) {
      throw new Error(`the 1 GiB download: HTTP ${response.statusCode}, ${received} bytes`)
    }
    return {
      fileMiB: DOWNLOAD_FILE.size / MIB,
      rounds: options.rounds,
      rows,
      rss: {
        baselineMb: baseline / MIB,
        peakMb: peak / MIB,
        growthMb: (peak - baseline) / MIB,
        seconds: (performance.now() - started) / 1000,
        samples,
      },
    }
  } finally {
    await agent.close()
  }
}

export function downloadTargets(result: DownloadResult): Target[] {
  const targets: Target[] = []
  for (const g of result.rows.filter((row) => row.id === 'G')) {
    const floor = result.rows.find(
      (row) => row.id === 'R0-download' && row.concurrency === g.concurrency,
    )
    if (!floor) continue
    const ratio = g.mibPerSecond / floor.mibPerSecond
    targets.push({
      name: `G throughput ÷ R0-download ≥ ${TARGET.gOverR0Download} at ${g.concurrency} concurrent`,
      value: `${ratio.toFixed(2)}× (${g.mibPerSecond.toFixed(0)} vs ${floor.mibPerSecond.toFixed(0)} MiB/s)`,
      met: ratio >= TARGET.gOverR0Download,
    })
  }
  const { rss } = result
  targets.push(
    {
      name: `connector RSS growth during a 1 GiB download < ${TARGET.rssGrowthMb} MB`,
      value: `${rss.growthMb.toFixed(1)} MB (${rss.baselineMb.toFixed(0)} → ${rss.peakMb.toFixed(0)} MB, ${rss.samples} samples over ${rss.seconds.toFixed(1)} s)`,
      met: rss.growthMb < TARGET.rssGrowthMb,
    },
    {
      name: 'no failed download',
      value: String(result.rows.reduce((n, row) => n + row.failures, 0)),
      met: result.rows.every((row) => row.failures === 0),
    },
  )
  return targets
}

export function printDownloads(result: DownloadResult): string[] {
  return [
    '',
    `Downloads (${result.fileMiB} MiB file, mean of ${result.rounds} rounds):`,
    '',
    '| row | concurrent | MiB/s | failed |',
    '|---|--:|--:|--:|',
    ...result.rows.map(
      (row) =>
        `| ${row.id} | ${row.concurrency} | ${row.mibPerSecond.toFixed(0)} | ${row.failures} |`,
    ),
  ]
}
