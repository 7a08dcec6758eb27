/**
 * F, scale-out (issue 11): the connector as N replicas (`CONNECTOR_ENTRY` each) on one fresh
 * PostgreSQL database, beside one replica on the same database: steady `GET /v1/me` traffic
 * spread round-robin over the replicas (one autocannon per replica, the connections split
 * evenly), and a refresh storm spread over every replica, which must still make exactly one
 * token request. Runs when BENCH_DATABASE_URL is set; on a machine with fewer cores than
 * processes the figure shows the contention, not a speed-up.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import postgres from 'postgres'
import { createControlClient } from '../emulator/index.ts'
import { freePort, PROJECT_ROOT } from '../test/process.ts'
import { connectUsers, STORM_ACCOUNT, STORM_USER, seedAccounts, userId } from './fixture.ts'
import { type LoadResult, percentile, runLoad } from './load.ts'
import { type Service, startConnector, startEmulatorProcess } from './processes.ts'

export interface ReplicaPhase {
  replicas: number
  requestsPerSecond: number
  /** Per-replica p50/p99 of autocannon, the worst of them. */
  p50Ms: number
  p99Ms: number
  failures: number
}

export interface ReplicaRunResult {
  steady: ReplicaPhase[]
  storm: {
    replicas: number
    concurrency: number
    tokenRequests: number
    failures: number
    p99Ms: number
  }
}

export async function replicaRun(options: {
  databaseUrl: string
  replicas: number
  users: number
  seconds: number
  connections: number
  jwks: unknown
  mint: (sub: string) => string
  dir: string
  log: (message: string) => void
}): Promise<ReplicaRunResult> {
  const { log } = options
  const database = await createDatabase(options.databaseUrl)
  const services: Service[] = []
  try {
    const ports = await Promise.all(Array.from({ length: options.replicas }, () => freePort()))
    // One public name, as behind a load balancer: the first replica's URL stands in for it.
    const publicUrl = `http://127.0.0.1:${ports[0]}`
    const emulator = await startEmulatorProcess({ redirectUri: `${publicUrl}/connect/callback` })
    services.push(emulator)
    await seedAccounts(createControlClient(emulator.url), options.users)
    const shared = {
      DATABASE_URL: database.url,
      VAULT_KEYS: `bench-1:${randomBytes(32).toString('base64')}`,
      PUBLIC_BASE_URL: publicUrl,
    }
    log(`[replicas] starting ${options.replicas} replicas on one PostgreSQL database`)
    const replicas = await Promise.all(
      ports.map(async (port, index) => {
        const dir = join(options.dir, `replica-${index}`)
        await mkdir(dir, { recursive: true })
        const replica = await startConnector({
          port,
          emulatorUrl: emulator.url,
          emulatorContentUrl: emulator.contentUrl,
          jwks: options.jwks,
          dir,
          env: shared,
        })
        services.push(replica)
        return replica
      }),
    )
    log(`[replicas] connecting ${options.users} users`)
    // The API of any replica (its internal listener); the browser steps go to the public name.
    await connectUsers(replicas[0]?.url as string, emulator.url, options.mint, options.users)

    const steadyAssertions = Array.from({ length: options.users }, (_, i) =>
      options.mint(userId(i)),
    )
    const steady = async (count: number, seconds: number): Promise<ReplicaPhase> => {
      let cursor = 0
      const next = () => ({
        'x-identity-assertion': steadyAssertions[cursor++ % steadyAssertions.length] as string,
      })
      const results: LoadResult[] = await Promise.all(
        replicas.slice(0, count).map((replica) =>
          runLoad({
            url: replica.url,
            path: '/v1/me',
            connections: Math.max(1, Math.round(options.connections / count)),
            durationSeconds: seconds,
            nextHeaders: next,
          }),
        ),
      )
      return {
        replicas: count,
        requestsPerSecond: results.reduce((sum, r) => sum + r.requestsPerSecond, 0),
        p50Ms: Math.max(...results.map((r) => r.p50Ms)),
        p99Ms: Math.max(...results.map((r) => r.p99Ms)),
        failures: results.reduce((sum, r) => sum + r.failures, 0),
      }
    }
    log('[replicas] warm-up')
    await steady(replicas.length, 1)
    const phases: ReplicaPhase[] = []
    for (const count of [1, replicas.length]) {
      log(`[replicas] steady GET /v1/me on ${count} replica(s) (${options.seconds} s)`)
      phases.push(await steady(count, options.seconds))
    }

    log('[replicas] refresh storm over every replica')
    const control = createControlClient(emulator.url)
    const concurrency = 201
    const assertion = options.mint(STORM_USER)
    await control.resetCounters()
    await control.expireAccessTokens(STORM_ACCOUNT)
    const calls = await Promise.all(
      Array.from({ length: concurrency }, async (_, i) => {
        const replica = replicas[i % replicas.length] as Service
        const started = performance.now()
        const response = await fetch(`${replica.url}/v1/me`, {
          headers: { 'x-identity-assertion': assertion },
        })
        await response.arrayBuffer()
        return { ms: performance.now() - started, status: response.status }
      }),
    )
    const counters = await control.counters()
    const sorted = Float64Array.from(calls.map((c) => c.ms)).sort()
    const result: ReplicaRunResult = {
      steady: phases,
      storm: {
        replicas: replicas.length,
        concurrency,
        tokenRequests: counters.tokenRequests.refresh_token,
        failures: calls.filter((c) => c.status !== 200).length,
        p99Ms: percentile(sorted, 0.99),
      },
    }
    await mkdir(join(PROJECT_ROOT, 'bench/results'), { recursive: true })
    await writeFile(
      join(PROJECT_ROOT, 'bench/results/replicas.json'),
      `${JSON.stringify(result, null, 2)}\n`,
    )
    return result
  } finally {
    await Promise.allSettled(services.map((service) => service.stop()))
    await database.drop()
  }
}

/** Prints F after the main report (also in bench/results/replicas.json). */
export function printReplicaReport(result: ReplicaRunResult): void {
  const lines = [
    '',
    'F. Scale-out on PostgreSQL: steady GET /v1/me, connections split over the replicas',
    '  replicas   req/s     p50 ms   p99 ms   failures',
    ...result.steady.map(
      (p) =>
        `  ${String(p.replicas).padEnd(9)}${p.requestsPerSecond.toFixed(0).padStart(7)}  ${p.p50Ms.toFixed(2).padStart(8)} ${p.p99Ms.toFixed(2).padStart(8)}   ${p.failures}`,
    ),
    `  refresh storm over ${result.storm.replicas} replicas: ${result.storm.concurrency} calls, ` +
      `${result.storm.tokenRequests} token request(s) (must be 1), ${result.storm.failures} failures, ` +
      `p99 ${result.storm.p99Ms.toFixed(1)} ms`,
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

/** A database of its own, so the run starts empty and leaves nothing behind. */
async function createDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cc_bench_${randomBytes(6).toString('hex')}`
  const admin = () => postgres(serverUrl, { max: 1, onnotice: () => {} })
  const sql = admin()
  try {
    await sql`create database ${sql(name)}`
  } finally {
    await sql.end({ timeout: 5 })
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const dropper = admin()
      try {
        await dropper`drop database if exists ${dropper(name)} with (force)`
      } finally {
        await dropper.end({ timeout: 5 })
      }
    },
  }
}
