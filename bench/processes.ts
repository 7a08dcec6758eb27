/**
 * The processes a bench run drives, each with its own CPU: the Dropbox emulator, the
 * connector (`node <npm start's flags> dist/server/server.js`, what `npm start` runs) and the
 * reference proxy.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { openSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BUNDLE_ENTRY } from '../scripts/build.ts'
import { START_COMMAND } from '../scripts/start-command.ts'
import { TEST_ISSUER } from '../test/fixtures/identity.ts'
import { freePort, PROJECT_ROOT, type RunningProcess, startProcess } from '../test/process.ts'

/**
 * What the bench starts as the connector: the bundle, as `npm start` and the image run it
 * (run.ts builds it first); `BENCH_CONNECTOR_ENTRY=src/server.ts` measures the sources instead.
 */
export const CONNECTOR_ENTRY = process.env.BENCH_CONNECTOR_ENTRY ?? BUNDLE_ENTRY

export interface Service {
  /** Where the service's API answers: for the connector, its internal listener (contract §5). */
  url: string
  pid: number
  /** Resident set size in bytes, from /proc (the figure the kernel charges the process). */
  rss(): Promise<number>
  /** The anonymous part of it (heap, stacks, native allocations): RSS minus mapped files. */
  rssAnon(): Promise<number>
  /** CPU time (user + system) the process has used so far, in milliseconds. */
  cpuMs(): Promise<number>
  stop(): Promise<void>
}

const READY_TIMEOUT_MS = 60_000
/** Under valgrind a start takes ~50 times longer. */
const WRAPPED_READY_MS = 300_000

const TICKS_PER_SECOND = 100

export async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces): utime is the 14th, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND
}

export async function rssOf(pid: number, field = 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)
  if (!match) throw new Error(`no ${field} for pid ${pid}`)
  return Number(match[1]) * 1024
}

/** Polls until `url` answers 200, or fails with the child's output. */
async function waitReady(
  url: string,
  running: RunningProcess,
  name: string,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (running.child.exitCode !== null) break
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  running.child.kill('SIGKILL')
  throw new Error(`${name} did not become ready at ${url}:\n${running.output().slice(-4000)}`)
}

function asService(running: RunningProcess, url: string): Service {
  const pid = running.child.pid
  if (pid === undefined) throw new Error('child has no pid')
  return {
    url,
    pid,
    rss: () => rssOf(pid),
    rssAnon: () => rssOf(pid, 'RssAnon'),
    cpuMs: () => cpuMsOf(pid),
    async stop() {
      if (running.child.exitCode !== null) return
      running.child.kill('SIGTERM')
      const timer = setTimeout(() => running.child.kill('SIGKILL'), 10_000)
      await running.exited
      clearTimeout(timer)
    },
  }
}

/** The emulator: its API host at `url`, its content host (`files/download`) at `contentUrl`. */
export async function startEmulatorProcess(options: {
  redirectUri: string
}): Promise<Service & { contentUrl: string }> {
  const port = await freePort()
  const contentPort = await freePort()
  const running = startProcess([join(PROJECT_ROOT, 'emulator/main.ts')], {
    ...process.env,
    EMULATOR_PORT: String(port),
    EMULATOR_CONTENT_PORT: String(contentPort),
    EMULATOR_HOST: '127.0.0.1',
    EMULATOR_APP_KEY: BENCH_APP.key,
    EMULATOR_APP_SECRET: BENCH_APP.secret,
    EMULATOR_REDIRECT_URIS: options.redirectUri,
  })
  const url = `http://127.0.0.1:${port}`
  await waitReady(`${url}/__emulator/health`, running, 'emulator')
  return { ...asService(running, url), contentUrl: `http://127.0.0.1:${contentPort}` }
}

function words(value: string | undefined): string[] {
  return (value ?? '').split(' ').filter(Boolean)
}

/*
 * Experiment knobs for every connector startConnector starts; the cold start (cold-start.ts)
 * keeps the deployed command and environment.
 */

/** Extra connector environment, e.g. BENCH_CONNECTOR_ENV="MALLOC_ARENA_MAX=2". */
export const BENCH_CONNECTOR_ENV: Record<string, string> = Object.fromEntries(
  words(process.env.BENCH_CONNECTOR_ENV).map((pair) => [
    pair.slice(0, pair.indexOf('=')),
    pair.slice(pair.indexOf('=') + 1),
  ]),
)

/**
 * Extra connector `node` flags, e.g. BENCH_CONNECTOR_NODE_ARGS="--max-semi-space-size=8" (some
 * of V8's heap flags, `--min-semi-space-size` among them, are refused in NODE_OPTIONS).
 */
export const BENCH_CONNECTOR_NODE_ARGS = words(process.env.BENCH_CONNECTOR_NODE_ARGS)

/**
 * A command run.ts's connector runs under, e.g. BENCH_CONNECTOR_WRAPPER="bench/memory-cgroup.sh
 * 512": the connector as in a container with a 512 MiB memory limit (docs/performance.md). It
 * must exec its arguments, so the pid the bench reads RSS from is the connector's.
 */
export const BENCH_CONNECTOR_WRAPPER = words(process.env.BENCH_CONNECTOR_WRAPPER)

/**
 * Polls a process's log file until it holds `from` and, after it, `to`; returns what lies
 * between (a process under valgrind may take minutes, hence the long default).
 */
export async function logBetween(
  file: string,
  from: string,
  to: string,
  timeoutMs = 600_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const text = await readFile(file, 'utf8').catch(() => '')
    const start = text.indexOf(from)
    const end = start < 0 ? -1 : text.indexOf(to, start)
    if (end >= 0) return text.slice(start, end)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`no "${from}" … "${to}" in ${file} after ${timeoutMs / 1000} s`)
}

export const BENCH_APP = { key: 'bench-app-key', secret: 'bench-app-secret' }

export interface ConnectorOptions {
  port: number
  emulatorUrl: string
  /** The emulator's content host (`DROPBOX_CONTENT_BASE_URL`), for downloads. */
  emulatorContentUrl?: string
  jwks: unknown
  /** Temp directory for the SQLite file and the connector's log. */
  dir: string
  /** Added last, so a scenario row can switch storage (`DATABASE_URL`) or tuning. */
  env?: Record<string, string>
  /** Extra `node` flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[]
  /** A command the process runs under, e.g. valgrind (bench/instructions.ts). */
  wrapper?: string[]
}

/**
 * The connector exactly as deployed (`CONNECTOR_ENTRY` with `npm start`'s node flags; an
 * experiment's BENCH_CONNECTOR_NODE_ARGS come after them, so they win), configured by the
 * environment, with its two listeners: `options.port` public (browsers), `url` the internal one
 * (`/v1`, metrics).
 */
export async function startConnector(options: ConnectorOptions): Promise<Service> {
  const publicUrl = `http://127.0.0.1:${options.port}`
  const internalPort = await freePort()
  const url = `http://127.0.0.1:${internalPort}`
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(options.port),
    INTERNAL_PORT: String(internalPort),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: publicUrl,
    DATABASE_PATH: join(options.dir, 'connector.db'),
    VAULT_KEYS: `bench-1:${randomBytes(32).toString('base64')}`,
    IDENTITY_JWKS: JSON.stringify(options.jwks),
    IDENTITY_ISSUER: TEST_ISSUER,
    DROPBOX_APP_KEY: BENCH_APP.key,
    DROPBOX_APP_SECRET: BENCH_APP.secret,
    DROPBOX_API_BASE_URL: options.emulatorUrl,
    ...(options.emulatorContentUrl ? { DROPBOX_CONTENT_BASE_URL: options.emulatorContentUrl } : {}),
    DROPBOX_AUTHORIZE_URL: `${options.emulatorUrl}/oauth2/authorize`,
    CONNECT_RETURN_URL: 'http://127.0.0.1:9/integrations/dropbox/done',
    LOG_LEVEL: 'info',
    ...options.env,
  }
  // The request log goes to a file, as a log shipper would take it: its cost stays measured.
  const log = openSync(join(options.dir, 'connector.log'), 'a')
  const running = startLogged(
    [
      ...START_COMMAND.nodeFlags,
      ...BENCH_CONNECTOR_NODE_ARGS,
      ...(options.nodeArgs ?? []),
      join(PROJECT_ROOT, CONNECTOR_ENTRY),
    ],
    env,
    log,
    options.wrapper,
  )
  await waitReady(`${url}/readyz`, running, 'connector', options.wrapper && WRAPPED_READY_MS)
  return asService(running, url)
}

/** The reference proxy (R0/R1) of `reference-proxy.ts`. */
export async function startReferenceProxy(
  env: Record<string, string>,
  nodeArgs: string[] = [],
  wrapper?: string[],
): Promise<Service> {
  const port = await freePort()
  const args = [...nodeArgs, join(PROJECT_ROOT, 'bench/reference-proxy.ts')]
  const proxyEnv = { PATH: process.env.PATH, ...env, PORT: String(port) }
  const running = wrapper
    ? startLogged(args, proxyEnv, 'ignore', wrapper)
    : startProcess(args, proxyEnv)
  const url = `http://127.0.0.1:${port}`
  await waitReady(`${url}/healthz`, running, 'reference proxy', wrapper && WRAPPED_READY_MS)
  return asService(running, url)
}

/**
 * Like test/process.ts `startProcess`, but stdout goes straight to a file descriptor: the
 * bench process never reads the connector's log lines, so their cost stays the connector's.
 */
function startLogged(
  args: string[],
  env: Record<string, string | undefined>,
  stdout: number | 'ignore',
  wrapper: string[] = [],
): RunningProcess {
  const [command, ...rest] = [...wrapper, process.execPath, ...args] as [string, ...string[]]
  const child = spawn(command, rest, {
    cwd: PROJECT_ROOT,
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', stdout, 'pipe'],
  })
  let output = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  return { child, output: () => output, exited }
}

/** The connector's V8 heap as its own `/metrics` reports it (prom-client defaults), in MB. */
export async function heapOf(connectorUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${connectorUrl}/metrics`)).text()
  const heap: Record<string, number> = {}
  const pick = (pattern: RegExp, name: string) => {
    const match = pattern.exec(text)
    if (match) heap[name] = Math.round((Number(match[1]) / 1024 / 1024) * 10) / 10
  }
  pick(/^nodejs_heap_size_total_bytes (\S+)$/m, 'total')
  pick(/^nodejs_heap_size_used_bytes (\S+)$/m, 'used')
  pick(/^nodejs_external_memory_bytes (\S+)$/m, 'external')
  for (const match of text.matchAll(
    /^nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)$/gm,
  )) {
    heap[`space:${match[1]}`] = Math.round((Number(match[2]) / 1024 / 1024) * 10) / 10
  }
  return heap
}
