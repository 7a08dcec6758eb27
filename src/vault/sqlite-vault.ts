/**
 * Builds the SQLite-backed vault: validates the keys before touching the file, opens and
 * migrates the database, and hands out the two ports plus the readiness checks for `/readyz`.
 */
import type { VaultKeySpec } from '../config.ts'
import { SqliteConnectionVault } from './connection-vault.ts'
import { openVaultDatabase } from './db.ts'
import { keyRingCheck, STORED_KEY_IDS_SQL } from './key-readiness.ts'
import { KeyRing } from './key-ring.ts'
import { rotateSecrets } from './rotation.ts'
import { SqliteConnectSessionVault } from './session-vault.ts'
import { TokenCache } from './token-cache.ts'
import { type Vault, vaultProbe } from './vault.ts'

export interface SqliteVaultOptions {
  /** The SQLite file (`DATABASE_PATH`); its directory is created if missing. */
  path: string
  /** `VAULT_KEYS`: the first seals, all open. */
  keys: readonly VaultKeySpec[]
  clock?: () => Date
  /** Opened token sets kept in memory for `openTokens`; 0 turns the cache off. Default 1000. */
  tokenCacheSize?: number
}

/** Both adapters build the same `Vault`; the SQLite name stays for existing callers. */
export type SqliteVault = Vault

export async function createSqliteVault(options: SqliteVaultOptions): Promise<SqliteVault> {
  const ring = await KeyRing.create(options.keys)
  let database: ReturnType<typeof openVaultDatabase>
  try {
    database = openVaultDatabase(options.path)
  } catch (error) {
    ring.destroy()
    throw error
  }
  const clock = options.clock ?? (() => new Date())
  const cache = new TokenCache(options.tokenCacheSize ?? 1000)
  const deps = { db: database.db, ring, clock }
  let closed = false

  const connections = new SqliteConnectionVault({ ...deps, cache })

  return {
    connections,
    sessions: new SqliteConnectSessionVault(deps),
    refreshLeases: connections,
    readinessChecks: [
      {
        name: 'database',
        failure: 'the database does not answer or its migrations are not applied',
        check: async () => database.checkHealth(),
      },
      {
        name: 'vault',
        failure: 'the active vault key cannot seal and open',
        check: async () => vaultProbe(ring),
      },
      keyRingCheck(
        async () => database.sqlite.prepare(STORED_KEY_IDS_SQL).pluck().all() as string[],
        ring,
      ),
    ],
    rotate: async (rotateOptions) => {
      const report = rotateSecrets(database.db, ring, rotateOptions)
      cache.clear()
      // Best effort: moves the re-sealed pages into the main file and empties the WAL, so frames
      // still holding old-key ciphertexts do not outlive the rotation.
      database.sqlite.pragma('wal_checkpoint(TRUNCATE)')
      return report
    },
    close: async () => {
      if (closed) return
      closed = true
      cache.clear()
      database.close()
      ring.destroy()
    },
  }
}
