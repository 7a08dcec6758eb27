/**
 * Picks the store (contract §8, §11): PostgreSQL when `DATABASE_URL` is set, else the SQLite file at
 * `DATABASE_PATH`. Each adapter is loaded only when chosen, so a SQLite deployment never opens
 * a PostgreSQL pool and vice versa.
 */
import type { VaultKeySpec } from '../config.ts'
import type { Vault } from './vault.ts'

export interface VaultSelection {
  databaseUrl: string | undefined
  databasePath: string
  keys: readonly VaultKeySpec[]
  clock?: () => Date
  tokenCacheSize?: number
}

export async function openVault(options: VaultSelection): Promise<Vault> {
  const { databaseUrl, databasePath, ...common } = options
  if (databaseUrl) {
    const { createPostgresVault } = await import('./postgres-vault.ts')
    return createPostgresVault({ url: databaseUrl, ...common })
  }
  const { createSqliteVault } = await import('./sqlite-vault.ts')
  return createSqliteVault({ path: databasePath, ...common })
}
