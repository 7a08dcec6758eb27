/**
 * `node bench/instructions.ts [label]`: machine instructions per request, counted by valgrind's
 * callgrind, for the floor R0 and the connector's A (`GET /v1/me`) and C (a 500-entry listing);
 * on request also R1 and B, the same pair with a signature check on every request.
 *
 * `npm run bench` measures time on 2 shared cores, where the same code moves by ±0.2 in its
 * ratios from run to run; a count of instructions does not depend on what else the machine
 * does, so a change of 1 % shows. It is not time: a cache miss and a system call count little
 * here and cost much more (docs/performance.md says where the time goes). Use it to judge a
 * change to the request path, then confirm with `npm run bench`.
 *
 * Each server runs under callgrind with counting off; after a warm-up of WARMUP_REQUESTS (the
 * JIT has optimised the path), counting is switched on for WINDOWS windows of MEASURED_REQUESTS
 * each. V8 still compiles a function now and then, once, in whichever window it happens (up to
 * 600,000 instructions per request in a window of 2,000), so the figure leaves V8's compilers
 * out and is the median of the windows, printed beside their least (a collection only ever adds
 * to a window). ~3.5 minutes on 2 cores. A's windows then agree within ~3 %; R0's and
 * R0-list's move by up to 20 % and 40 % (their collections land in a window or not), so read
 * the ratios as rough and a row's own count as the measure of a change.
 * Env: BENCH_CONNECTOR_ENV as in run.ts (`KEY=val KEY2=val2`), INSTRUCTIONS_ROWS (`R0,A` to
 * count only those; R1 and B, the fresh-assertion pair, only when named), INSTRUCTIONS_V8_FLAGS,
 * INSTRUCTIONS_CALLGRIND_ARGS, INSTRUCTIONS_CACHE_SIM, INSTRUCTIONS_KEEP=1 (keep the dumps, read
 * them with bench/callgrind-names.ts).
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createControlClient } from '../emulator/index.ts'
import { buildBundle } from '../scripts/build.ts'
import { createIdentityKeys, TEST_ISSUER } from '../test/fixtures/identity.ts'
import { freePort } from '../test/process.ts'
import {
  connectUsers,
  createMinter,
  grantToken,
  LISTING_ACCOUNT,
  LISTING_USER,
  seedAccounts,
  userId,
} from './fixture.ts'
import { requestAll } from './load.ts'
import {
  BENCH_CONNECTOR_ENV,
  CONNECTOR_ENTRY,
  logBetween,
  type Service,
  startConnector,
  startEmulatorProcess,
  startReferenceProxy,
} from './processes.ts'
import { median } from './report.ts'

const USERS = 50
/**
 * One request at a time: with several in flight, how requests batch into one event-loop turn
 * changes from run to run, and so do the counts (±20 % at 8; within 2 % at 1).
 */
const CONCURRENCY = 1
const WARMUP_REQUESTS = 6_000
const MEASURED_REQUESTS = 2_000
/** Counted windows per row, one after the other: if they disagree, the process's state moved. */
const WINDOWS = 3
const LIST_WARMUP = 600
const LIST_MEASURED = 200
/**
 * No background threads: V8's compiler and collector threads otherwise run their share of the
 * work in or out of the counted window depending on timing, and counts move by up to 25 %.
 */
const V8_FLAGS = (process.env.INSTRUCTIONS_V8_FLAGS ?? '--single-threaded')
  .split(' ')
  .filter(Boolean)
/**
 * With the dumps kept, V8 also writes /tmp/perf-<pid>.map, so that bench/callgrind-names.ts
 * can name the JIT code in them (it runs only when code is compiled: the counts stay the same).
 */
const KEEP = Boolean(process.env.INSTRUCTIONS_KEEP)
if (KEEP && !V8_FLAGS.includes('--perf-basic-prof')) V8_FLAGS.push('--perf-basic-prof')

/** The flags for a process whose files go to `dir`: V8's own log, which the perf map turns on. */
function nodeFlags(dir: string): string[] {
  if (!V8_FLAGS.includes('--perf-basic-prof')) return V8_FLAGS
  return [...V8_FLAGS, '--no-logfile-per-isolate', `--logfile=${join(dir, 'v8-%p.log')}`]
}
/**
 * `INSTRUCTIONS_CACHE_SIM=<size>,<ways>,<line>` also simulates the caches and counts misses of
 * the last level, e.g. `2097152,16,64` for one core's 2 MiB L2 here (the L3 is shared with
 * whatever else runs on the host, so a private level is the one a model can stand for).
 */
const CACHE_SIM = process.env.INSTRUCTIONS_CACHE_SIM
/** startConnector's HOST. */
const CONNECTOR_HOST = '127.0.0.1'

const run = promisify(execFile)
const label = process.argv[2] ?? ''
const log = (message: string) => process.stderr.write(`[instructions] ${message}\n`)

/** A callgrind wrapper whose dumps land in `dir` as `<name>.<pid>.<n>`. */
function callgrind(dir: string, name: string): string[] {
  return [
    'valgrind',
    '--tool=callgrind',
    '--instr-atstart=no',
    // V8 writes machine code and runs it: without this valgrind runs stale translations.
    '--smc-check=all-non-file',
    `--callgrind-out-file=${join(dir, `${name}.%p`)}`,
    // callgrind_control reaches the process through vgdb's pipes, made in our temp directory.
    `--vgdb-prefix=${join(dir, 'vgdb')}`,
    ...(CACHE_SIM ? ['--cache-sim=yes', `--LL=${CACHE_SIM}`] : []),
    // e.g. `--separate-callers=3`: a runtime function's cost split by who called it.
    ...(process.env.INSTRUCTIONS_CALLGRIND_ARGS ?? '').split(' ').filter(Boolean),
  ]
}

type HeadersFor = (i: number) => Record<string, string>

/** A window's instructions, with the two parts that do not recur with every request. */
interface Split {
  total: number
  /** V8's optimising compilers: a function gets compiled once, in whichever window it happens. */
  compile: number
  /** The collector; with --single-threaded it runs on the main thread, inside the window. */
  gc: number
  /** Simulated last-level cache misses (reads and writes), with INSTRUCTIONS_CACHE_SIM only. */
  misses: number
}

const COMPILER = /v8::internal::(compiler|maglev|turboshaft|baseline)::|v8::internal::Compiler::/
const COLLECTOR =
  /v8::internal::(Heap::|Scaveng|RootScavenge|MarkCompact|MinorMarkSweep|Marking|Sweeper|Evacuat|GCTracer|IncrementalMarking|ConcurrentMarking)|heap::base::|cppgc::/

/** Instructions the process ran while `work` ran, from a callgrind dump. */
async function count(
  service: Service,
  host: string | undefined,
  dir: string,
  work: () => Promise<void>,
): Promise<Split> {
  // vgdb names its pipes after $USER and $HOST as the server saw them; the connector has HOST.
  const env = { PATH: process.env.PATH, ...(host ? { HOST: host } : {}) }
  const control = (action: string) =>
    run('callgrind_control', [`--vgdb-prefix=${join(dir, 'vgdb')}`, action, String(service.pid)], {
      env,
    })
  const pid = String(service.pid)
  await control('--instr=on')
  await work()
  await control('--instr=off')
  const before = new Set(await readdir(dir))
  await control('--dump')
  const dumped = (await readdir(dir)).filter((file) => !before.has(file) && file.includes(pid))
  const split: Split = { total: 0, compile: 0, gc: 0, misses: 0 }
  for (const file of dumped) {
    const totals = await totalsOf(join(dir, file))
    split.total += totals.get('Ir') ?? 0
    for (const event of ['ILmr', 'DLmr', 'DLmw']) split.misses += totals.get(event) ?? 0
    const { compile, gc } = await splitOf(join(dir, file))
    split.compile += compile
    split.gc += gc
  }
  // Zeroes the counters, so the next measurement of this process starts from nothing.
  await control('--zero')
  return split
}

/**
 * The dump's `events:` and `totals:` lines as event → count (Ir; with the cache simulation also
 * the misses); `callgrind_control --dump` can return before the file is written.
 */
async function totalsOf(file: string): Promise<Map<string, number>> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const text = await readFile(file, 'utf8')
    const events = /^events: (.+)$/m.exec(text)?.[1]?.split(' ')
    const totals = /^totals: (.+)$/m.exec(text)?.[1]?.split(' ').map(Number)
    if (events && totals) return new Map(events.map((event, i) => [event, totals[i] ?? 0]))
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`no callgrind totals in ${file}`)
}

/** Compiler and collector instructions, summed over the functions' own costs by name. */
async function splitOf(file: string): Promise<Pick<Split, 'compile' | 'gc'>> {
  const { stdout } = await run('callgrind_annotate', ['--threshold=100', file], {
    maxBuffer: 256 * 1024 * 1024,
  })
  let compile = 0
  let gc = 0
  for (const line of stdout.split('\n')) {
    const match = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$/.exec(line)
    if (!match) continue
    const [, cost = '', name = ''] = match
    if (name.includes('PROGRAM TOTALS')) continue
    if (COMPILER.test(name)) compile += Number(cost.replaceAll(',', ''))
    else if (COLLECTOR.test(name)) gc += Number(cost.replaceAll(',', ''))
  }
  return { compile, gc }
}

try {
  await run('valgrind', ['--version'])
} catch {
  log('valgrind is not installed (apt-get install valgrind)')
  process.exit(2)
}
if (CONNECTOR_ENTRY.startsWith('dist/')) await buildBundle()
const keys = await createIdentityKeys()
const mint = createMinter(keys)
const dir = await mkdtemp(join(tmpdir(), 'cc-instructions-'))
const services: Service[] = []
try {
  const port = await freePort()
  const redirectUri = `http://127.0.0.1:${port}/connect/callback`
  const emulator = await startEmulatorProcess({ redirectUri })
  services.push(emulator)
  await seedAccounts(createControlClient(emulator.url), USERS)
  log('starting the connector and the reference proxy under callgrind')
  const connector = await startConnector({
    port,
    emulatorUrl: emulator.url,
    jwks: keys.jwks,
    dir,
    env: BENCH_CONNECTOR_ENV,
    nodeArgs: nodeFlags(dir),
    wrapper: callgrind(dir, 'connector'),
  })
  services.push(connector)
  // Under valgrind the background compile of the route schemas outlasts the warm-up requests
  // and would be counted with them (~10,000 instructions per request of Ajv code generation).
  await logBetween(join(dir, 'connector.log'), 'route schemas compiled', '\n')
  await connectUsers(connector.url, emulator.url, mint, USERS)
  const reference = await startReferenceProxy(
    {
      UPSTREAM: emulator.url,
      TOKEN: await grantToken(emulator.url, redirectUri, LISTING_ACCOUNT),
      IDENTITY_JWKS: JSON.stringify(keys.jwks),
      IDENTITY_ISSUER: TEST_ISSUER,
    },
    nodeFlags(dir),
    callgrind(dir, 'reference'),
  )
  services.push(reference)

  const assertions = Array.from({ length: USERS }, (_, i) => mint(userId(i)))
  const lister = { 'x-identity-assertion': mint(LISTING_USER) }
  // Each user's assertion reused, as the shipped clients send them (A; R1 checks it anew each time).
  const reused: HeadersFor = (i) => ({ 'x-identity-assertion': assertions[i % USERS] as string })
  const single: [number, number] = [WARMUP_REQUESTS, MEASURED_REQUESTS]
  const listing: [number, number] = [LIST_WARMUP, LIST_MEASURED]
  // The connector's vgdb pipes carry its HOST; the reference proxy has none.
  const table: Array<[string, Service, string | undefined, string, [number, number], HeadersFor]> =
    [
      ['R0', reference, undefined, '/r0/me', single, () => ({})],
      ['A', connector, CONNECTOR_HOST, '/v1/me', single, reused],
      ['R1', reference, undefined, '/r1/me', single, reused],
      // A never-seen assertion on every request, minted as it is sent (the load generator's
      // work, not counted), so none nears its expiry however slowly valgrind runs.
      [
        'B',
        connector,
        CONNECTOR_HOST,
        '/v1/me',
        single,
        (i) => ({ 'x-identity-assertion': mint(userId(i % USERS)) }),
      ],
      ['R0-list', reference, undefined, '/r0/list', listing, () => ({})],
      ['C', connector, CONNECTOR_HOST, '/v1/workspace/list?path=Big', listing, () => lister],
    ]
  const rowsWanted = (process.env.INSTRUCTIONS_ROWS ?? 'R0,A,R0-list,C').split(',')
  const rows: Array<[string, Split[], number]> = []
  for (const [name, service, host, path, [warmup, measured], headers] of table) {
    if (!rowsWanted.includes(name)) continue
    log(`${name}: ${warmup} requests to warm up, ${WINDOWS} × ${measured} counted`)
    await requestAll({ url: service.url, path, count: warmup, inFlight: CONCURRENCY, headers })
    const windows: Split[] = []
    for (let window = 0; window < WINDOWS; window++) {
      const split = await count(service, host, dir, () =>
        requestAll({ url: service.url, path, count: measured, inFlight: CONCURRENCY, headers }),
      )
      windows.push({
        total: split.total / measured,
        compile: split.compile / measured,
        gc: split.gc / measured,
        misses: split.misses / measured,
      })
    }
    rows.push([name, windows, measured])
  }

  const thousands = (value: number) => Math.round(value).toLocaleString('en')
  const running = (split: Split) => split.total - split.compile
  const per = Object.fromEntries(
    rows.map(([name, windows]) => [name, median(windows.map(running))]),
  )
  // A collection or a late deoptimisation only ever adds to a window, so the least of them is
  // the steadiest figure: it repeated within 1.5 % where medians moved by 3 % (performance.md).
  const least = Object.fromEntries(
    rows.map(([name, windows]) => [name, Math.min(...windows.map(running))]),
  )
  process.stdout.write(
    `instructions per request${label ? ` (${label})` : ''}, without V8's compilers, median and least of ${WINDOWS} windows:\n`,
  )
  for (const [name, windows, measured] of rows) {
    const list = (pick: (split: Split) => number) =>
      windows.map((w) => thousands(pick(w))).join(' / ')
    process.stdout.write(
      `  ${name.padEnd(8)} ${thousands(per[name] as number).padStart(11)} ${thousands(least[name] as number).padStart(11)}   windows of ${measured}: ${list(running)}; of which GC ${list((w) => w.gc)}; compilers ${list((w) => w.compile)}${CACHE_SIM ? `; LL misses ${list((w) => w.misses)}` : ''}\n`,
    )
  }
  for (const [row, floor] of [
    ['A', 'R0'],
    ['B', 'R1'],
    ['C', 'R0-list'],
  ] as const) {
    const ratio = (of: Record<string, number>) => (of[row] as number) / (of[floor] as number)
    if (Number.isFinite(ratio(per))) {
      process.stdout.write(
        `  ${row} ÷ ${floor} ${ratio(per).toFixed(3)} (medians), ${ratio(least).toFixed(3)} (least)\n`,
      )
    }
  }
} finally {
  await Promise.all(services.map((service) => service.stop()))
  if (KEEP)
    log(`callgrind dumps kept in ${dir}: node bench/callgrind-names.ts ${dir}/connector.<pid>.<n>`)
  else await rm(dir, { recursive: true, force: true })
}
