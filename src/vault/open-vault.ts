/**
 * Opens the vault (contract §8, §11): validates the keys before touching any database, then
 * opens PostgreSQL when `DATABASE_URL` is set, else the SQLite file at `DATABASE_PATH`. Each
 * store is loaded only when chosen, so a SQLite deployment never opens a PostgreSQL pool and
 * vice versa.
 */
import type { VaultKeySpec } from '../config.ts'
import { KeyRing } from './crypto/key-ring.ts'
import type { VaultStore } from './store.ts'
import { assembleVault, type Vault, type VaultOptions } from './vault.ts'

export interface VaultSelection extends VaultOptions {
  /** `DATABASE_URL`: `postgres://user:password@host:port/database`; wins when set. */
  databaseUrl?: string | undefined
  /** `DATABASE_PATH`: the SQLite file; its directory is created if missing. */
  databasePath?: string
  /** `VAULT_KEYS`: the first seals, all open. */
  keys: readonly VaultKeySpec[]
}

export async function openVault(options: VaultSelection): Promise<Vault> {
  const ring = await KeyRing.create(options.keys)
  let store: VaultStore
  try {
    store = await openStore(options)
  } catch (error) {
    ring.destroy()
    throw error
  }
  return assembleVault(store, ring, options)
}

async function openStore({ databaseUrl, databasePath }: VaultSelection): Promise<VaultStore> {
  if (databaseUrl) {
    const { openPostgresStore } = await import('./postgres/store.ts')
    return openPostgresStore(databaseUrl)
  }
  if (!databasePath) throw new TypeError('openVault needs a databaseUrl or a databasePath')
  const { openSqliteStore } = await import('./sqlite/store.ts')
  return openSqliteStore(databasePath)
}
