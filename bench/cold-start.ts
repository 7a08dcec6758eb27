/**
 * Cold start, as a new user would see it: from `spawn` to the first `200` from `/readyz` on an
 * empty database, and the resident set size at that moment, for the connector (`CONNECTOR_ENTRY`
 * with `npm start`'s node flags: what `npm start` runs) and for a bare Fastify app
 * (`bare-fastify.mjs`), in alternation so both see the same machine. The median of `runs` each.
 * Alone: `node bench/cold-start.ts [runs]`.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { START_COMMAND } from '../scripts/start-command.ts'
import { freePort, PROJECT_ROOT } from '../test/process.ts'
import { BENCH_APP, CONNECTOR_ENTRY, rssOf } from './processes.ts'

export interface ColdStart {
  /** Median milliseconds from spawn to the first 200 from /readyz. */
  readyMs: number
  /** Median RSS in MB at that moment. */
  rssMb: number
  samples: Array<{ readyMs: number; rssMb: number }>
}

export interface ColdStartResult {
  connector: ColdStart
  bare: ColdStart
  /** The connector's `node` arguments: flags and file (the bundle, or BENCH_CONNECTOR_ENTRY). */
  entry: string
}

const POLL_MS = 5
const TIMEOUT_MS = 30_000

/** One spawn → ready measurement; the process is stopped afterwards. */
async function once(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{
  readyMs: number
  rssMb: number
}> {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    // INTERNAL_PORT = PORT: the connector's one-listener mode, no second port to collide.
    env: { ...env, PORT: String(port), INTERNAL_PORT: String(port) } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    const url = `http://127.0.0.1:${port}/readyz`
    while (performance.now() - started < TIMEOUT_MS) {
      if (child.exitCode !== null) break
      try {
        const response = await fetch(url)
        await response.arrayBuffer()
        if (response.status === 200) {
          const readyMs = performance.now() - started
          const rssMb = (await rssOf(child.pid as number)) / 1024 / 1024
          return { readyMs, rssMb }
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
    throw new Error(`${args.join(' ')} did not become ready:\n${stderr.slice(-2000)}`)
  } finally {
    child.kill('SIGKILL')
    await exited
  }
}

function summary(samples: Array<{ readyMs: number; rssMb: number }>): ColdStart {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b)
    const mid = sorted.length >> 1
    return sorted.length % 2
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  }
  return {
    readyMs: median(samples.map((s) => s.readyMs)),
    rssMb: median(samples.map((s) => s.rssMb)),
    samples,
  }
}

/** The connector's configuration: valid, an empty SQLite file, an upstream never called at boot. */
function connectorEnv(dir: string, run: number): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    DATABASE_PATH: join(dir, `cold-${run}.db`),
    VAULT_KEYS: `cold-1:${randomBytes(32).toString('base64')}`,
    IDENTITY_JWKS: JSON.stringify({
      keys: [
        {
          kty: 'OKP',
          crv: 'Ed25519',
          x: randomBytes(32).toString('base64url'),
          kid: 'cold',
          alg: 'EdDSA',
          use: 'sig',
        },
      ],
    }),
    IDENTITY_ISSUER: 'https://main-app.cold',
    DROPBOX_APP_KEY: BENCH_APP.key,
    DROPBOX_APP_SECRET: BENCH_APP.secret,
    DROPBOX_API_BASE_URL: 'http://127.0.0.1:9',
    CONNECT_RETURN_URL: 'http://127.0.0.1:9/done',
    LOG_LEVEL: 'info',
  }
}

export async function coldStart(
  runs = 5,
  connectorArgs = [...START_COMMAND.nodeFlags, CONNECTOR_ENTRY],
): Promise<ColdStartResult> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-cold-'))
  const connector: Array<{ readyMs: number; rssMb: number }> = []
  const bare: Array<{ readyMs: number; rssMb: number }> = []
  try {
    // One untimed start of each warms the OS page cache, as a deployed image would be.
    await once(connectorArgs, connectorEnv(dir, -1))
    await once(['bench/bare-fastify.mjs'], { PATH: process.env.PATH })
    for (let run = 0; run < runs; run++) {
      connector.push(await once(connectorArgs, connectorEnv(dir, run)))
      bare.push(await once(['bench/bare-fastify.mjs'], { PATH: process.env.PATH }))
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return { connector: summary(connector), bare: summary(bare), entry: connectorArgs.join(' ') }
}

if (import.meta.main) {
  const result = await coldStart(
    Number(process.argv[2] ?? 5),
    process.argv.slice(3).length ? process.argv.slice(3) : undefined,
  )
  const line = (name: string, c: ColdStart) =>
    `${name}: ready in ${c.readyMs.toFixed(0)} ms (runs ${c.samples.map((s) => s.readyMs.toFixed(0)).join(', ')}), RSS ${c.rssMb.toFixed(0)} MB`
  process.stdout.write(
    `${line(`connector (${result.entry})`, result.connector)}\n${line('bare Fastify', result.bare)}\nratio ${(result.connector.readyMs / result.bare.readyMs).toFixed(2)}×\n`,
  )
}
