/**
 * Builds the SQLite-backed vault: validates the keys before touching the file, opens and
 * migrates the database, and hands out the two ports plus the readiness checks for `/readyz`.
 */
import type { VaultKeySpec } from '../config.ts'
import type { ReadinessCheck } from '../http/routes/operations.ts'
import { SqliteConnectionVault } from './connection-vault.ts'
import { openVaultDatabase } from './db.ts'
import { KeyRing } from './key-ring.ts'
import type { ConnectionVault, ConnectSessionVault } from './ports.ts'
import { type RotationReport, rotateSecrets } from './rotation.ts'
import { openSecret, sealSecret } from './sealed-box.ts'
import { SqliteConnectSessionVault } from './session-vault.ts'
import { TokenCache } from './token-cache.ts'

export interface SqliteVaultOptions {
  /** The SQLite file (`DATABASE_PATH`); its directory is created if missing. */
  path: string
  /** `VAULT_KEYS`: the first seals, all open. */
  keys: readonly VaultKeySpec[]
  clock?: () => Date
  /** Opened token sets kept in memory for `openTokens`; 0 turns the cache off. Default 1000. */
  tokenCacheSize?: number
}

export interface SqliteVault {
  connections: ConnectionVault
  sessions: ConnectSessionVault
  /** `database` (answers, migrations applied) and `vault` (the active key seals and opens). */
  readinessChecks: ReadinessCheck[]
  /** Re-seals every secret not under the active key; see `npm run vault:rotate`. */
  rotate(options?: { batchSize?: number }): Promise<RotationReport>
  /** Closes the database and wipes the keys from memory. Idempotent. */
  close(): Promise<void>
}

const PROBE_BINDING = {
  purpose: 'readiness_probe',
  rowId: 'readiness-probe',
  userId: 'readiness-probe',
  provider: 'dropbox',
} as const

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

  return {
    connections: new SqliteConnectionVault({ ...deps, cache }),
    sessions: new SqliteConnectSessionVault(deps),
    readinessChecks: [
      {
        name: 'database',
        check: async () => database.checkHealth(),
      },
      {
        name: 'vault',
        check: async () => {
          const probe = 'probe'
          const sealed = sealSecret(ring, probe, PROBE_BINDING)
          if (openSecret(ring, sealed, PROBE_BINDING) !== probe) {
            throw new Error('the active vault key does not open its own probe')
          }
        },
      },
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
