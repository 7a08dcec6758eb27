/**
 * `npm run bench` (issue 9): the connector against its physical floors, in one run.
 * Options: --seconds=N per phase (default 4), --rounds=N (default 3), --users=N (default 1000),
 * --connections=N (default 50), --profile (the connector runs with --cpu-prof; profiles land
 * in bench/results/profiles), --cold-runs=N cold starts of the connector and of a bare Fastify
 * app (default 5), --soak S (instead of the rounds: S seconds of scenario A, RSS and heap after
 * GC every minute; bench/soak.ts). BENCH_DATABASE_URL adds a PostgreSQL connector variant and F,
 * 3 replicas on one fresh PostgreSQL database (bench/replicas.ts). --only=A,C,download runs
 * those rows; `--only download` alone (R0-download and G, bench/download.ts) also skips the
 * cold start, D and E: `npm run bench -- --only download --users 10`.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { createControlClient } from '../emulator/index.ts'
import { BUNDLE_ENTRY, buildBundle } from '../scripts/build.ts'
import { createIdentityKeys, TEST_ISSUER } from '../test/fixtures/identity.ts'
import { freePort, PROJECT_ROOT } from '../test/process.ts'
import { coldStart } from './cold-start.ts'
import { downloadBench } from './download.ts'
import {
  connectUsers,
  createMinter,
  grantToken,
  LISTING_ACCOUNT,
  LISTING_USER,
  STORM_ACCOUNT,
  STORM_USER,
  seedAccounts,
  userId,
} from './fixture.ts'
import { connectInspector } from './inspector.ts'
import { runLoad } from './load.ts'
import { microBenchmarks } from './micro.ts'
import {
  BENCH_CONNECTOR_ENV,
  BENCH_CONNECTOR_WRAPPER,
  CONNECTOR_ENTRY,
  heapOf,
  type Service,
  startConnector,
  startEmulatorProcess,
  startReferenceProxy,
} from './processes.ts'
import { printReplicaReport, type ReplicaRunResult, replicaRun } from './replicas.ts'
import {
  type BenchReport,
  type ConnectorRss,
  type PhaseResult,
  printReport,
  writeReport,
} from './report.ts'
import { type ConnectorVariant, LOAD_SCENARIOS, type LoadScenario } from './scenarios.ts'
import { printSoak, soak } from './soak.ts'
import { refreshStorm } from './storm.ts'

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    users: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '50' },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
    'cold-runs': { type: 'string', default: '5' },
    soak: { type: 'string' },
  },
})
const settings = {
  seconds: Number(args.seconds),
  rounds: Number(args.rounds),
  users: Number(args.users),
  connections: Number(args.connections),
  profile: args.profile,
  /** Comma-separated scenario ids to run (for profiling one path); default all. */
  only: args.only?.split(',') ?? null,
  coldRuns: Number(args['cold-runs']),
  soakSeconds: args.soak === undefined ? null : Number(args.soak),
}
if (settings.soakSeconds !== null && !(settings.soakSeconds >= 60)) {
  throw new Error('--soak takes the soak length in seconds, at least 60')
}
const runDownloads = settings.only === null || settings.only.includes('download')
const downloadOnly = settings.only?.length === 1 && runDownloads
const scenarios = LOAD_SCENARIOS.filter(
  (s) => settings.only === null || settings.only.includes(s.id),
)
const variants: ConnectorVariant[] = [{ name: 'sqlite', env: BENCH_CONNECTOR_ENV }]
if (process.env.BENCH_DATABASE_URL) {
  variants.push({
    name: 'postgres',
    env: { ...BENCH_CONNECTOR_ENV, DATABASE_URL: process.env.BENCH_DATABASE_URL },
  })
}
const RESULTS = join(PROJECT_ROOT, 'bench/results')
/** How long the connector idles after the last phase before its RSS is read again. */
const IDLE_SECONDS = 12
const MB = 1024 * 1024

const startedAt = Date.now()
const log = (message: string) =>
  process.stderr.write(`[bench +${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${message}\n`)

const keys = await createIdentityKeys()
const mint = createMinter(keys)
const dir = await mkdtemp(join(tmpdir(), 'cc-bench-'))
const services: Service[] = []
const report: BenchReport = {
  startedAt: new Date(startedAt).toISOString(),
  settings,
  machine: { node: process.version, cpus: (await import('node:os')).availableParallelism() },
  variants: [],
  micro: [],
  durationSeconds: 0,
  coldStart: null,
}

let replicas: ReplicaRunResult | null = null
try {
  // First, while nothing else of the bench runs: spawn → first 200 from /readyz, alternating
  // the connector (`npm start`'s command) with a bare Fastify app.
  if (CONNECTOR_ENTRY === BUNDLE_ENTRY) {
    log('building the bundle npm start runs (scripts/build.ts)')
    await buildBundle()
  }
  if (!downloadOnly) {
    log(`cold start: ${settings.coldRuns} × the connector and × a bare Fastify app`)
    report.coldStart = await coldStart(settings.coldRuns)
  }
  for (const variant of variants) {
    report.variants.push(await runVariant(variant))
  }
  if (settings.soakSeconds === null && !downloadOnly) {
    log('E: micro benchmarks')
    report.micro = await microBenchmarks(keys, mint)
  }
  if (process.env.BENCH_DATABASE_URL && settings.soakSeconds === null) {
    log('F: 3 replicas on one PostgreSQL database (bench/replicas.ts)')
    const databaseUrl = process.env.BENCH_DATABASE_URL
    replicas = await replicaRun({
      databaseUrl,
      replicas: 3,
      ...settings,
      jwks: keys.jwks,
      mint,
      dir,
      log,
    })
  }
} finally {
  await Promise.allSettled(services.map((service) => service.stop()))
  await rm(dir, { recursive: true, force: true })
}
report.durationSeconds = (Date.now() - startedAt) / 1000
await mkdir(RESULTS, { recursive: true })
await writeReport(report, join(RESULTS, 'latest.json'))
printReport(report)
for (const variant of report.variants) {
  if (variant.soak) process.stdout.write(`${printSoak(variant.soak).join('\n')}\n`)
}
if (replicas) printReplicaReport(replicas)

async function runVariant(variant: ConnectorVariant) {
  const port = await freePort()
  const connectorUrl = `http://127.0.0.1:${port}`
  const redirectUri = `${connectorUrl}/connect/callback`
  log(`[${variant.name}] starting the emulator and seeding ${settings.users} accounts`)
  const emulator = await startEmulatorProcess({ redirectUri })
  services.push(emulator)
  const control = createControlClient(emulator.url)
  await seedAccounts(control, settings.users)

  const variantDir = join(dir, variant.name)
  await mkdir(variantDir, { recursive: true })
  const profileDir = join(RESULTS, 'profiles', variant.name)
  if (settings.profile) await mkdir(profileDir, { recursive: true })
  // Profiles count from their process's start: phase logs say where each phase falls in them.
  const connectorStartedAt = Date.now()
  const inspectPort = settings.soakSeconds === null ? null : await freePort()
  const connector = await startConnector({
    ...(BENCH_CONNECTOR_WRAPPER.length > 0 ? { wrapper: BENCH_CONNECTOR_WRAPPER } : {}),
    port,
    emulatorUrl: emulator.url,
    emulatorContentUrl: emulator.contentUrl,
    jwks: keys.jwks,
    dir: variantDir,
    env: variant.env,
    nodeArgs: [
      ...(process.env.BENCH_CONNECTOR_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      ...(settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ...(inspectPort === null ? [] : [`--inspect=127.0.0.1:${inspectPort}`]),
    ],
  })
  services.push(connector)
  const rss: ConnectorRss = {
    afterRound: [],
    afterBoot: (await connector.rss()) / MB,
  }

  log(`[${variant.name}] connecting ${settings.users} users through the connect flow`)
  const connectStarted = Date.now()
  await connectUsers(connector.url, emulator.url, mint, settings.users)
  const connectSeconds = (Date.now() - connectStarted) / 1000
  rss.afterConnect = (await connector.rss()) / MB

  const referenceToken = await grantToken(emulator.url, redirectUri, LISTING_ACCOUNT)
  const reference = await startReferenceProxy(
    {
      UPSTREAM: emulator.url,
      CONTENT_UPSTREAM: emulator.contentUrl,
      TOKEN: referenceToken,
      IDENTITY_JWKS: JSON.stringify(keys.jwks),
      IDENTITY_ISSUER: TEST_ISSUER,
    },
    settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, 'reference')}`] : [],
  )
  services.push(reference)

  // One assertion per user, minted once and reused for the whole run (lifetime 300 s).
  const steady = Array.from({ length: settings.users }, (_, i) => mint(userId(i)))
  const listing = mint(LISTING_USER)
  let cursor = 0
  const traffic = (kind: LoadScenario['traffic'], fresh: string[]) => {
    switch (kind) {
      case 'steady':
        return () => ({ 'x-identity-assertion': steady[cursor++ % steady.length] as string })
      case 'listing':
        return () => ({ 'x-identity-assertion': listing })
      case 'fresh':
        return () => {
          if (cursor >= fresh.length) throw new Error('the fresh-assertion pool ran out')
          return { 'x-identity-assertion': fresh[cursor++] as string }
        }
    }
  }
  const phase = async (
    scenario: LoadScenario,
    seconds: number,
    fresh: string[],
  ): Promise<PhaseResult> => {
    cursor = 0
    const target = scenario.target === 'connector' ? connector : reference
    const before = await Promise.all([target.cpuMs(), emulator.cpuMs()])
    const self = process.cpuUsage()
    const result = await runLoad({
      url: target.url,
      path: scenario.path,
      connections: settings.connections,
      durationSeconds: seconds,
      nextHeaders: traffic(scenario.traffic, fresh),
    })
    const selfUsage = process.cpuUsage(self)
    const after = await Promise.all([target.cpuMs(), emulator.cpuMs()])
    const perRequest = (ms: number) => Math.round((ms * 1000) / Math.max(1, result.requests))
    return {
      ...result,
      cpuUsPerRequest: {
        proxy: perRequest((after[0] as number) - (before[0] as number)),
        emulator: perRequest((after[1] as number) - (before[1] as number)),
        loadGenerator: perRequest((selfUsage.user + selfUsage.system) / 1000),
      },
    }
  }
  // Enough never-seen assertions for the fastest fresh phase this machine could run.
  const freshPool = () => {
    const size = 16_000 * settings.seconds
    return Array.from({ length: size }, (_, i) => mint(userId(i % settings.users)))
  }

  if (settings.soakSeconds !== null && inspectPort !== null) {
    await reference.stop()
    log(`[${variant.name}] soak: ${settings.soakSeconds} s of scenario A`)
    const inspector = await connectInspector(inspectPort)
    cursor = 0
    const soaked = await soak({
      connector,
      inspector,
      seconds: settings.soakSeconds,
      connections: settings.connections,
      path: '/v1/me',
      nextHeaders: traffic('steady', []),
      log: (message) => log(`[${variant.name}] ${message}`),
    })
    inspector.close()
    // Under load at the end of the last minute, before its forced GC: the figure a host sees.
    rss.final = soaked.samples.at(-1)?.rssMb
    rss.finalAnon = (await connector.rssAnon()) / MB
    const heap = await heapOf(connector.url)
    await connector.stop()
    await emulator.stop()
    return {
      name: variant.name,
      connectSeconds,
      rounds: [],
      storm: null,
      rss,
      heap,
      connectorLogBytes: (await stat(join(variantDir, 'connector.log'))).size,
      soak: soaked,
    }
  }

  // No load scenario (`--only download`): no warm-up, and no assertion pools to mint.
  if (scenarios.length > 0) {
    log(`[${variant.name}] warm-up (JIT, connection pools, caches)`)
    const warmPool = freshPool()
    for (const scenario of scenarios) await phase(scenario, 1, warmPool)
  }

  const rounds: Array<Record<string, PhaseResult>> = []
  for (let round = 1; round <= settings.rounds && scenarios.length > 0; round++) {
    const pool = freshPool()
    const results: Record<string, PhaseResult> = {}
    for (const scenario of scenarios) {
      const since = ((Date.now() - connectorStartedAt) / 1000).toFixed(0)
      log(
        `[${variant.name}] round ${round}: ${scenario.id} (${settings.seconds} s, connector +${since} s)`,
      )
      // R1 (reference) and B (connector) share the pool: the connector has never seen it.
      results[scenario.id] = await phase(scenario, settings.seconds, pool)
    }
    rounds.push(results)
    rss.afterRound.push((await connector.rss()) / MB)
  }

  const download = runDownloads
    ? await downloadBench({
        connectorUrl: connector.url,
        connectorPid: connector.pid,
        referenceUrl: reference.url,
        emulatorUrl: emulator.url,
        control,
        accountId: LISTING_ACCOUNT,
        token: referenceToken,
        assertion: () => mint(LISTING_USER),
        concurrencies: [1, 4],
        rounds: Math.max(1, settings.rounds),
        log: (message) => log(`[${variant.name}] ${message}`),
      })
    : undefined

  let storm: Awaited<ReturnType<typeof refreshStorm>> | null = null
  if (!downloadOnly) {
    log(`[${variant.name}] D: refresh storm`)
    storm = await refreshStorm({
      connectorUrl: connector.url,
      control,
      accountId: STORM_ACCOUNT,
      assertion: mint(STORM_USER),
    })
  }
  rss.final = (await connector.rss()) / MB
  rss.finalAnon = (await connector.rssAnon()) / MB
  const heap = await heapOf(connector.url)
  // What an idle replica holds. V8 gives its pooled pages back only when its memory reducer
  // collects, which a mark-compact arms, so this may still be the final RSS (docs/performance.md).
  await sleep(IDLE_SECONDS * 1000)
  rss.afterIdle = { seconds: IDLE_SECONDS, mb: (await connector.rss()) / MB }

  await connector.stop()
  await reference.stop()
  await emulator.stop()
  const logBytes = (await stat(join(variantDir, 'connector.log'))).size
  return {
    name: variant.name,
    connectSeconds,
    rounds,
    storm,
    rss,
    heap,
    connectorLogBytes: logBytes,
    download,
  }
}
