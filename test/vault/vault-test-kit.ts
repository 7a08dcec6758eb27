/** Shared pieces for the vault tests: throwaway keys, a hand-driven clock, sample rows. */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import Database from 'better-sqlite3'
import { accountIdFor } from '../../emulator/index.ts'
import type { TokenSet } from '../../src/cloud/models.ts'
import type { VaultKeySpec } from '../../src/config.ts'
import { openVault } from '../../src/vault/open-vault.ts'
import type { ConnectSessionVault, NewConnection } from '../../src/vault/ports.ts'
import { freshDatabase, rawPostgres, testsUsePostgres } from '../postgres.ts'

export function vaultKey(kid: string): VaultKeySpec {
  return { kid, secretKey: new Uint8Array(randomBytes(32)) }
}

export function vaultKeysEnv(keys: VaultKeySpec[]): string {
  return keys
    .map(({ kid, secretKey }) => `${kid}:${Buffer.from(secretKey).toString('base64')}`)
    .join(',')
}

/**
 * Like `tempDir` in `test/helper.ts`, without importing the whole app: vault tests and their
 * child processes load only the vault.
 */
export async function tempDir(t: TestContext, prefix = 'cc-vault-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A clock the test moves by hand, so expiry needs no sleeping. */
export class ManualClock {
  #now: number
  constructor(start = Date.parse('2026-11-25T10:00:00Z')) {
    this.#now = start
  }
  now = (): Date => new Date(this.#now)
  advance(ms: number): void {
    this.#now += ms
  }
}

/** The vault's clock (milliseconds) reading a test's `() => Date`. */
function millis(clock: () => Date) {
  return () => clock().getTime()
}

/** A vault on an SQLite file, for the tests about the file itself. */
export async function openTestVault(
  t: TestContext,
  options: StoreOptions & { dir?: string; path?: string } = {},
) {
  const dir = options.dir ?? (await tempDir(t))
  const path = options.path ?? join(dir, 'connector.db')
  const keys = options.keys ?? [vaultKey('test-1')]
  const clock = options.clock ?? new ManualClock().now
  const vault = await openVault({
    tokenCacheSize: options.tokenCacheSize ?? 0,
    databasePath: path,
    keys,
    clock: millis(clock),
  })
  t.after(() => vault.close())
  return { vault, path, keys, clock, dir }
}

export function tokenSet(label: string, expiresAt = new Date('2026-11-25T14:00:00Z')): TokenSet {
  return {
    accessToken: `sl.access-${label}`,
    accessTokenExpiresAt: expiresAt,
    refreshToken: `refresh-${label}`,
  }
}

export function newConnection(userId: string, tokens: TokenSet = tokenSet(userId)): NewConnection {
  return {
    userId,
    provider: 'dropbox',
    accountId: accountIdFor(userId),
    email: `${userId}@example.test`,
    scopes: ['account_info.read', 'files.metadata.read'],
    tokenType: 'bearer',
    rootInfo: {
      type: 'user',
      rootNamespaceId: '100',
      homeNamespaceId: '100',
      homePath: null,
    },
    tokens,
  }
}

/** A connect session moved to `started` (its verifier sealed), expiring in ten minutes. */
export async function startedSession(
  sessions: ConnectSessionVault,
  clock: ManualClock,
  label: string,
) {
  const session = await sessions.create({
    userId: `user-${label}`,
    provider: 'dropbox',
    connectTokenHash: `connect-${label}`,
    expiresAt: new Date(clock.now().getTime() + 10 * 60_000),
  })
  await sessions.start({
    connectTokenHash: `connect-${label}`,
    stateHash: `state-${label}`,
    flowCookieHash: `cookie-${label}`,
    codeVerifier: `verifier-${label}`,
    now: clock.now(),
  })
  return session
}

/** Raw SQL on a test's store (`?` placeholders on both adapters), for what the ports never show. */
export interface RawStore {
  all(query: string, ...params: unknown[]): Promise<Array<Record<string, unknown>>>
  get(query: string, ...params: unknown[]): Promise<Record<string, unknown> | undefined>
  run(query: string, ...params: unknown[]): Promise<void>
}

export interface StoreOptions {
  keys?: VaultKeySpec[]
  /** Dates, like the ports; the kit hands the vault its milliseconds. */
  clock?: () => Date
  tokenCacheSize?: number
}

/**
 * A vault on a fresh store for the port-level tests: an SQLite file, or with
 * `TEST_DATABASE=postgres` a fresh PostgreSQL database, so the same tests cover both adapters.
 * `reopen` opens another vault on the same store (other keys: a rotation; or a second replica).
 */
export async function openStoreVault(t: TestContext, options: StoreOptions = {}) {
  const keys = options.keys ?? [vaultKey('test-1')]
  const clock = options.clock ?? new ManualClock().now
  const store = testsUsePostgres()
    ? { databaseUrl: await freshDatabase(), databasePath: '' }
    : { databaseUrl: undefined, databasePath: join(await tempDir(t), 'connector.db') }
  const reopen = async (more: StoreOptions = {}) => {
    const vault = await openVault({
      ...store,
      tokenCacheSize: more.tokenCacheSize ?? options.tokenCacheSize ?? 0,
      keys: more.keys ?? keys,
      clock: millis(more.clock ?? clock),
    })
    t.after(() => vault.close())
    return vault
  }
  const vault = await reopen()
  const raw = store.databaseUrl
    ? postgresRaw(rawPostgres(t, store.databaseUrl))
    : sqliteRaw(t, store.databasePath)
  return { vault, keys, clock, raw, store, reopen }
}

function sqliteRaw(t: TestContext, path: string): RawStore {
  const sqlite = new Database(path)
  t.after(() => sqlite.close())
  return {
    all: async (query, ...params) =>
      sqlite.prepare(query).all(...params) as Array<Record<string, unknown>>,
    get: async (query, ...params) =>
      sqlite.prepare(query).get(...params) as Record<string, unknown> | undefined,
    run: async (query, ...params) => {
      sqlite.prepare(query).run(...params)
    },
  }
}

function postgresRaw(sql: ReturnType<typeof rawPostgres>): RawStore {
  const numbered = (query: string) => {
    let index = 0
    return query.replaceAll('?', () => `$${++index}`)
  }
  const all = async (query: string, ...params: unknown[]) =>
    [...(await sql.unsafe(numbered(query), params as never[]))] as Array<Record<string, unknown>>
  return {
    all,
    get: async (query, ...params) => (await all(query, ...params))[0],
    run: async (query, ...params) => {
      await all(query, ...params)
    },
  }
}
