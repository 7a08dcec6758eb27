/**
 * Shared kit of the hostile suite: the connector as a real process against an in-test
 * emulator, a raw-socket HTTP client for bytes `fetch` refuses to send, problem+json checks,
 * and the secret sweep (every token, code, state, verifier, assertion and the app secret).
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { connect as connectSocket } from 'node:net'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import Database from 'better-sqlite3'
import { accountIdFor, type Emulator } from '../../emulator/index.ts'
import type { EmulatorCounters } from '../../emulator/types.ts'
import { createIdentityKeys, type IdentityKeys } from '../fixtures/identity.ts'
import { randomVaultKeys, tempDir, testEnv } from '../helper.ts'
import { freePort, type RunningProcess, startProcess } from '../process.ts'
import { Browser, completionOf, emulatorEnv, type Stack, startEmulatorFor } from '../stack.ts'

export const APP_KEY = 'hostile-app-key'
export const APP_SECRET = 'hostile-app-secret-5e1f0c9a'
export const PROBLEM_TYPE = 'application/problem+json'
/** Test-only: skips drizzle-orm's slow exports-map resolution in child processes (~0.4 s each). */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1))
}

// ---------------------------------------------------------------------------------------------
// Responses

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

export async function readResponse(response: Response): Promise<RawResponse> {
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
  }
}

/** A problem+json answer with this status and code, and the RFC 9457 members. */
export function assertProblem(response: RawResponse, status: number, code?: string, what = '') {
  const context = `${what} → ${response.status} ${response.body.slice(0, 300)}`
  assert.equal(response.status, status, context)
  assert.equal(response.headers['content-type']?.split(';')[0], PROBLEM_TYPE, context)
  const problem = JSON.parse(response.body) as Record<string, unknown>
  for (const member of ['type', 'title', 'status', 'detail', 'code'])
    assert.ok(member in problem, `${context}: no "${member}"`)
  assert.equal(problem.status, status, context)
  if (code !== undefined) assert.equal(problem.code, code, context)
  return problem
}

/**
 * One request over a fresh socket, written byte for byte: invalid encodings, control bytes,
 * oversized headers. Resolves with what came back before the server closed the socket.
 */
export function rawRequest(port: number, request: Buffer | string, timeoutMs = 10_000) {
  return new Promise<RawResponse & { raw: Buffer }>((resolve, reject) => {
    const socket = connectSocket(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', () => {}) // A reset after the answer is fine; no answer is caught below.
    socket.on('close', () => {
      clearTimeout(timer)
      const raw = Buffer.concat(chunks)
      const text = raw.toString('latin1')
      const split = text.indexOf('\r\n\r\n')
      if (split === -1) return reject(new Error(`no HTTP answer (${raw.length} bytes)`))
      const [statusLine, ...headerLines] = text.slice(0, split).split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of headerLines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      const status = Number(statusLine?.split(' ')[1])
      let body: Buffer = raw.subarray(Buffer.byteLength(text.slice(0, split + 4), 'latin1'))
      if (headers['transfer-encoding'] === 'chunked') body = dechunk(body)
      resolve({ status, headers, body: body.toString('utf8'), raw })
    })
    socket.write(request)
  })
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = []
  let offset = 0
  while (offset < body.length) {
    const lineEnd = body.indexOf('\r\n', offset)
    if (lineEnd === -1) break
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString('latin1'), 16)
    if (!size) break
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size))
    offset = lineEnd + 2 + size + 2
  }
  return Buffer.concat(parts)
}

// ---------------------------------------------------------------------------------------------
// The connector as a process

export interface World {
  emulator: Emulator
  identity: IdentityKeys
  dir: string
  databasePath: string
  /** The public listener (browsers, probes). */
  port: number
  baseUrl: string
  /** The internal listener (`/v1`, metrics, docs; contract §5). */
  internalPort: number
  internalUrl: string
  env: Record<string, string | undefined>
  /** Every assertion minted, for the secret sweep. */
  minted: string[]
  assertion(userId: string): Promise<string>
  api(userId: string | null, method: string, path: string, init?: RequestInit): Promise<Response>
}

export async function createWorld(
  t: TestContext,
  options: { accessTokenTtlSeconds?: number; env?: Record<string, string> } = {},
): Promise<World> {
  const dir = await tempDir(t, 'cc-hostile-')
  const port = await freePort()
  const internalPort = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const internalUrl = `http://127.0.0.1:${internalPort}`
  const emulator = await startEmulatorFor(t, baseUrl, {
    appKey: APP_KEY,
    appSecret: APP_SECRET,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds,
  })
  const identity = await createIdentityKeys()
  const databasePath = join(dir, 'connector.db')
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...testEnv({
      PORT: String(port),
      INTERNAL_PORT: String(internalPort),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: baseUrl,
      DATABASE_PATH: databasePath,
      VAULT_KEYS: randomVaultKeys('hostile-1'),
      IDENTITY_JWKS: JSON.stringify(identity.jwks),
      DROPBOX_APP_KEY: APP_KEY,
      DROPBOX_APP_SECRET: APP_SECRET,
      ...emulatorEnv(emulator),
      UPSTREAM_TIMEOUT_MS: '3000',
      LOG_LEVEL: 'debug',
      ...options.env,
    }),
  }
  const minted: string[] = []
  const assertion = async (userId: string) => {
    const token = await identity.sign({ sub: userId })
    minted.push(token)
    return token
  }
  return {
    emulator,
    identity,
    dir,
    databasePath,
    port,
    baseUrl,
    internalPort,
    internalUrl,
    env,
    minted,
    assertion,
    async api(userId, method, path, init = {}) {
      const headers = new Headers(init.headers)
      if (userId !== null) headers.set('x-identity-assertion', await assertion(userId))
      return fetch(`${internalUrl}${path}`, { ...init, method, headers })
    },
  }
}

export interface ConnectorProcess extends RunningProcess {
  /** Every JSON log line so far. */
  logLines(): string[]
  /** This process's internal listener (its own when `PORT` was overridden). */
  internalUrl: string
}

/**
 * `node src/server.ts` with the world's environment; resolves once `/readyz` answers 200. A
 * replica given its own `PORT` gets its own `INTERNAL_PORT` too.
 */
export async function startConnector(
  t: TestContext,
  world: World,
  env: Record<string, string> = {},
): Promise<ConnectorProcess> {
  const baseUrl = env.PORT ? `http://127.0.0.1:${env.PORT}` : world.baseUrl
  const internalPort = env.INTERNAL_PORT ?? (env.PORT ? String(await freePort()) : undefined)
  const internalUrl = internalPort ? `http://127.0.0.1:${internalPort}` : world.internalUrl
  const started = startProcess(['src/server.ts'], {
    ...world.env,
    ...env,
    ...(internalPort ? { INTERNAL_PORT: internalPort } : {}),
  })
  t.after(() => {
    if (started.child.exitCode === null && started.child.signalCode === null)
      started.child.kill('SIGKILL')
  })
  const deadline = Date.now() + 20_000
  for (;;) {
    if (started.child.exitCode !== null) {
      throw new Error(`connector exited ${started.child.exitCode}: ${started.output()}`)
    }
    try {
      const ready = await fetch(`${baseUrl}/readyz`)
      if (ready.status === 200) break
    } catch {}
    if (Date.now() > deadline) throw new Error(`connector not ready: ${started.output()}`)
    await sleep(25)
  }
  return {
    ...started,
    internalUrl,
    logLines: () =>
      started
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{')),
  }
}

/** The whole connect flow for `userId` choosing `accountId`; returns the complete answer. */
export async function connectUser(
  world: World,
  userId: string,
  accountId: string,
): Promise<Response> {
  const created = await world.api(userId, 'POST', '/v1/connect/sessions')
  assert.equal(created.status, 201, await created.clone().text())
  const session = (await created.json()) as { id: string; connect_url: string }
  const browser = new Browser()
  const toDropbox = await browser.get(session.connect_url)
  assert.equal(toDropbox.status, 302)
  const back = await world.emulator.consent(toDropbox.headers.get('location') as string, {
    accountId,
    decision: 'allow',
  })
  const toMainApp = await browser.get(back)
  assert.equal(toMainApp.status, 303)
  return world.api(userId, 'POST', `/v1/connect/sessions/${session.id}/complete`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ completion: completionOf(toMainApp) }),
  })
}

let nextNamespace = 900_000

/** A personal emulator account per test user (`accountIdFor('<prefix>-<i>')`), one file in its home. */
export function seedAccounts(emulator: Emulator, prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const accountId = accountIdFor(`${prefix}-${i}`)
    emulator.seedAccount({
      accountId,
      email: `${prefix}-${i}@example.com`,
      givenName: prefix,
      surname: String(i),
      homeNamespaceId: String(nextNamespace++),
      files: [{ path: `/${prefix}-${i}.txt`, type: 'file' }],
    })
    return accountId
  })
}

export function integrityCheck(path: string): unknown {
  const sqlite = new Database(path)
  try {
    return sqlite.pragma('integrity_check', { simple: true })
  } finally {
    sqlite.close()
  }
}

export function connectionRows(path: string): Array<{ user_id: string; status: string }> {
  const sqlite = new Database(path, { readonly: true })
  try {
    return sqlite
      .prepare('select user_id, status from connections order by user_id')
      .all() as Array<{
      user_id: string
      status: string
    }>
  } finally {
    sqlite.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

let gc: (() => void) | undefined

/** A full, synchronous garbage collection, so heap figures compare live objects only. */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc') as () => void
  }
  gc()
  gc()
}

// ---------------------------------------------------------------------------------------------
// Secrets

/**
 * Every secret value seen in a run, by kind. A value is searched for as text and in its
 * URL-encoded form (both how it could be written), in logs, responses and file bytes.
 * Lookup goes by an 8-character prefix, so thousands of secrets scan megabytes quickly.
 */
export class Secrets {
  static readonly PREFIX = 8
  readonly #kinds = new Map<string, string>()
  readonly #byPrefix = new Map<string, string[]>()
  #values = 0

  add(kind: string, value: unknown): void {
    if (typeof value !== 'string' || value.length < Secrets.PREFIX || this.#kinds.has(value)) return
    this.#values++
    for (const form of new Set([value, encodeURIComponent(value)])) {
      if (this.#kinds.has(form)) continue
      this.#kinds.set(form, kind)
      const prefix = form.slice(0, Secrets.PREFIX)
      this.#byPrefix.set(prefix, [...(this.#byPrefix.get(prefix) ?? []), form])
    }
  }

  /** Distinct secret values (each searched in one or two forms). */
  get size(): number {
    return this.#values
  }

  /** What the emulator saw: tokens sent as Bearer, refresh tokens, codes, verifiers, states. */
  addFromEmulator(counters: EmulatorCounters): void {
    for (const call of counters.calls) {
      const bearer = /^Bearer (.+)$/.exec(call.headers.authorization ?? '')
      if (bearer) this.add('access token', bearer[1])
    }
    for (const request of counters.tokenRequestLog) {
      this.add('authorization code', request.params.code)
      this.add('PKCE verifier', request.params.code_verifier)
      this.add('refresh token', request.params.refresh_token)
      this.add('client secret', request.params.client_secret)
    }
    for (const request of counters.authorizeRequests) this.add('state', request.state)
  }

  /** The kind of every secret found in `haystack` (bytes are read as latin1: secrets are ASCII). */
  find(haystack: string | Buffer): string[] {
    const text = typeof haystack === 'string' ? haystack : haystack.toString('latin1')
    const hits: string[] = []
    for (let i = 0; i + Secrets.PREFIX <= text.length; i++) {
      const candidates = this.#byPrefix.get(text.slice(i, i + Secrets.PREFIX))
      if (candidates === undefined) continue
      for (const form of candidates) {
        if (text.startsWith(form, i)) hits.push(this.#kinds.get(form) as string)
      }
    }
    return hits
  }

  assertAbsent(where: string, haystack: string | Buffer): void {
    const hits = this.find(haystack)
    assert.deepEqual(hits, [], `${where} holds secrets: ${hits.join(', ')}`)
  }
}

/** The database, WAL and shared-memory files as they are on disk now. */
export function databaseFiles(path: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    if (existsSync(file)) files.set(file, readFileSync(file))
  }
  return files
}

export function sweepLogs(secrets: Secrets, where: string, lines: string[]): void {
  assert.ok(lines.length > 0, `${where}: no log lines captured`)
  for (const [index, line] of lines.entries()) {
    const hits = secrets.find(line)
    assert.deepEqual(hits, [], `${where} line ${index + 1} holds ${hits.join(', ')}: ${line}`)
  }
}

/** Secrets of a world whose connector runs as a process: what Dropbox saw, assertions, app secret. */
export function worldSecrets(world: World): Secrets {
  const secrets = new Secrets()
  secrets.addFromEmulator(world.emulator.counters())
  for (const assertion of world.minted) secrets.add('assertion', assertion)
  secrets.add('app secret', world.env.DROPBOX_APP_SECRET)
  return secrets
}

/** Secrets of an in-process stack: what Dropbox saw, every assertion, the app secret, vault keys. */
export function stackSecrets(stack: Stack, secrets = new Secrets()): Secrets {
  secrets.addFromEmulator(stack.emulator.counters())
  for (const assertion of stack.mintedAssertions) secrets.add('assertion', assertion)
  secrets.add('app secret', stack.config.dropbox.appSecret)
  for (const key of stack.config.vaultKeys)
    secrets.add('vault key', Buffer.from(key.secretKey).toString('base64'))
  return secrets
}

/** Dropbox-shaped access tokens (the emulator's `sl.` + 105 characters), whoever minted them. */
export const ACCESS_TOKEN_SHAPE = /sl\.[A-Za-z0-9_-]{100,}/
