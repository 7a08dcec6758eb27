/**
 * Several real replicas (`node src/server.ts`, as `npm start` runs it) on loopback ports, sharing
 * one fresh PostgreSQL database (or, with `store: 'sqlite'`, one SQLite file: several processes
 * on one machine), the vault keys and the identity keys, in front of the Dropbox
 * emulator running in the test process. There is no load balancer process: `PUBLIC_BASE_URL`
 * is the deployment's public name, and the test plays the balancer by sending each request to
 * the replica it chooses (`replica(i)`, or round-robin with `next()`).
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import type { Emulator } from '../../emulator/index.ts'
import { createIdentityKeys, type IdentityKeys } from '../fixtures/identity.ts'
import { randomVaultKeys, tempDir, testEnv } from '../helper.ts'
import { freshDatabase, rawPostgres } from '../postgres.ts'
import { freePort, type RunningProcess, startProcess, waitForHttp } from '../process.ts'
import { Browser, completionOf, emulatorEnv, startEmulatorFor } from '../stack.ts'

/** What the browser and Dropbox see; the test routes it to a replica of its choice. */
export const PUBLIC_BASE_URL = 'http://connector.test'

export interface Replica {
  index: number
  url: string
  process: RunningProcess
  /** Rewrites a public URL (a connect link, a callback) to this replica. */
  route(publicUrl: string): string
}

export interface Cluster {
  replicas: Replica[]
  emulator: Emulator
  identity: IdentityKeys
  databaseUrl: string
  /** The shared SQLite file (`store: 'sqlite'`), else ''. */
  databasePath: string
  /** A client on the shared PostgreSQL database, for reading rows the way an operator would. */
  sql: ReturnType<typeof rawPostgres>
  replica(index: number): Replica
  /** Round-robin over the live replicas. */
  next(): Replica
  api(
    replica: Replica,
    userId: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Response>
  /** The whole connect flow, each step on the next replica round-robin. */
  connect(userId: string, accountId: string): Promise<Response>
  kill(replica: Replica): Promise<void>
}

export async function startCluster(
  t: TestContext,
  options: { replicas?: number; env?: Record<string, string>; store?: 'postgres' | 'sqlite' } = {},
): Promise<Cluster> {
  const count = options.replicas ?? 3
  const sqlite = options.store === 'sqlite'
  const databaseUrl = sqlite ? '' : await freshDatabase()
  const databasePath = sqlite ? join(await tempDir(t), 'connector.db') : ''
  const store = sqlite ? { DATABASE_PATH: databasePath } : { DATABASE_URL: databaseUrl }
  const emulator = await startEmulatorFor(t, PUBLIC_BASE_URL)
  const identity = await createIdentityKeys()
  // Shared by every replica, as a deployment's secret store would hand them out.
  const shared = testEnv({
    PATH: process.env.PATH,
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL,
    // The load balancer's name is a test host on plain http: an explicit opt-in (contract §8).
    ALLOW_INSECURE_HTTP: 'true',
    ...store,
    VAULT_KEYS: randomVaultKeys('scale-1'),
    IDENTITY_JWKS: JSON.stringify(identity.jwks),
    ...emulatorEnv(emulator),
    UPSTREAM_TIMEOUT_MS: '5000',
    LOG_LEVEL: 'warn',
    ...options.env,
  })

  const replicas: Replica[] = []
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()))
  for (const [index, port] of ports.entries()) {
    const url = `http://127.0.0.1:${port}`
    const running = startProcess(['src/server.ts'], {
      ...shared,
      // One listener per replica: the tests call /v1 and /connect on the same port.
      PORT: String(port),
      INTERNAL_PORT: String(port),
    })
    const replica: Replica = {
      index,
      url,
      process: running,
      route: (publicUrl) => publicUrl.replace(PUBLIC_BASE_URL, url),
    }
    replicas.push(replica)
    t.after(async () => {
      if (running.child.exitCode !== null || running.child.signalCode !== null) return
      running.child.kill('SIGTERM')
      const timer = setTimeout(() => running.child.kill('SIGKILL'), 5_000)
      await running.exited
      clearTimeout(timer)
    })
  }
  // Replicas boot together against the empty database, so they race on migrations too.
  await Promise.all(
    replicas.map(async (replica) => {
      const ready = await waitForHttp(`${replica.url}/readyz`, 30_000).catch((error: Error) => {
        throw new Error(
          `replica ${replica.index} did not start: ${error.message}\n${replica.process.output()}`,
        )
      })
      assert.equal(ready.status, 200, `replica ${replica.index}: ${replica.process.output()}`)
    }),
  )

  const noSql = () => {
    throw new Error('an SQLite cluster has no SQL client')
  }
  const sql = sqlite ? (noSql as unknown as Cluster['sql']) : rawPostgres(t, databaseUrl)
  let turn = 0
  const alive = () =>
    replicas.filter((r) => r.process.child.exitCode === null && !r.process.child.signalCode)
  const api: Cluster['api'] = async (replica, userId, method, path, body) => {
    const iat = Math.floor(Date.now() / 1000)
    const headers: Record<string, string> = {
      'x-identity-assertion': await identity.sign({ sub: userId, iat, exp: iat + 120 }),
    }
    if (body !== undefined) headers['content-type'] = 'application/json'
    return fetch(`${replica.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  }
  const cluster: Cluster = {
    replicas,
    emulator,
    identity,
    databaseUrl,
    databasePath,
    sql,
    replica: (index) => {
      const replica = replicas[index]
      assert.ok(replica, `no replica ${index}`)
      return replica
    },
    next: () => {
      const live = alive()
      const replica = live[turn++ % live.length]
      assert.ok(replica, 'no live replica')
      return replica
    },
    api,
    async connect(userId, accountId) {
      const created = await api(cluster.next(), userId, 'POST', '/v1/connect/sessions')
      assert.equal(created.status, 201)
      const session = (await created.json()) as { id: string; connect_url: string }
      const browser = new Browser()
      const toDropbox = await browser.get(cluster.next().route(session.connect_url))
      assert.equal(toDropbox.status, 302)
      const back = await emulator.consent(toDropbox.headers.get('location') as string, {
        accountId,
        decision: 'allow',
      })
      const toMainApp = await browser.get(cluster.next().route(back))
      assert.equal(toMainApp.status, 303)
      return api(cluster.next(), userId, 'POST', `/v1/connect/sessions/${session.id}/complete`, {
        completion: completionOf(toMainApp),
      })
    },
    async kill(replica) {
      replica.process.child.kill('SIGKILL')
      await replica.process.exited
    },
  }
  return cluster
}
