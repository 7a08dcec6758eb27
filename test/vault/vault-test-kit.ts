/** Shared pieces for the vault tests: throwaway keys, a hand-driven clock, sample rows. */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import type { VaultKeySpec } from '../../src/config.ts'
import type { NewConnection, TokenSet } from '../../src/vault/ports.ts'
import { createSqliteVault, type SqliteVaultOptions } from '../../src/vault/sqlite-vault.ts'

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

export async function openTestVault(
  t: TestContext,
  options: Partial<SqliteVaultOptions> & { dir?: string } = {},
) {
  const dir = options.dir ?? (await tempDir(t))
  const path = options.path ?? join(dir, 'connector.db')
  const keys = options.keys ?? [vaultKey('test-1')]
  const clock = options.clock ?? new ManualClock().now
  const vault = await createSqliteVault({ tokenCacheSize: 0, ...options, path, keys, clock })
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
    accountId: `dbid:${userId}`,
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
